// What the Worker is given by the platform: bindings from wrangler.toml, secrets from `wrangler secret`.
import type { Role } from "../schema/db/tables.ts";
import type { ApiKeyId, TenantId } from "../schema/ids.ts";
import type { Database } from "./db/database.ts";
import type { ClusterDO } from "./durable/cluster-do.ts";
import type { HostDO } from "./durable/host-do.ts";
import type { ThrottleDO } from "./durable/throttle-do.ts";

export interface Bindings {
  /** libSQL over HTTP: Turso in production, scripts/libsql-server locally. */
  DATABASE_URL: string;
  DATABASE_AUTH_TOKEN?: string;
  /** Platform admin bearer token: creates tenants and their first admin key. */
  OUTPOST_ADMIN_TOKEN: string;
  /** The control plane's ed25519 signing seed (base64url, 32 bytes); agents pin its public key. */
  CP_SIGNING_KEY?: string;
  /** Agent ping interval in ms (default 15000); local runs and tests set it lower. */
  HEARTBEAT_MS?: string;
  /**
   * The control plane's public origin, used in install lines (default: the request's origin). Its
   * hostname is reserved for the API; custom exposure hostnames are served only once it is set.
   */
  PUBLIC_URL?: string;
  /** More hostnames routed to this Worker for the API (comma-separated), reserved like PUBLIC_URL's. */
  CONTROL_PLANE_HOSTNAMES?: string;
  /**
   * Exposures are served at `<name>.<EXPOSURE_DOMAIN>`, each on an origin of its own: a domain that
   * serves nothing else, on the Public Suffix List in production; `localhost` locally.
   */
  EXPOSURE_DOMAIN?: string;
  /** Window in ms over which failed authentication is counted (default 60000); tests set it lower. */
  AUTH_THROTTLE_WINDOW_MS?: string;
  /** One object per host (durable/host-do.ts): RPC methods, and fetch for WebSocket upgrades only. */
  HOST: DurableObjectNamespace<HostDO>;
  /** One object per cluster (durable/cluster-do.ts): its service and mesh registry, over RPC. */
  CLUSTER: DurableObjectNamespace<ClusterDO>;
  /** Counts failed authentication per address and per key, token or exposure (durable/throttle-do.ts). */
  THROTTLE: DurableObjectNamespace<ThrottleDO>;
  /** Content-addressed blobs (keys are sha256 digests): app artifacts, VM images, recordings. */
  ARTIFACTS: R2Bucket;
  /** Artifact upload part size in bytes (default 16 MiB; 5 MiB at least); artifacts/limits.ts. */
  ARTIFACT_PART_BYTES?: string;
  /** The largest artifact in bytes (default 4 GiB). */
  ARTIFACT_MAX_BYTES?: string;
  /** What one tenant's artifacts may add up to, in bytes (default 20 GiB). */
  ARTIFACT_QUOTA_BYTES?: string;
}

/** Who is calling, once the bearer credential has been checked. */
export interface Caller {
  tenantId: TenantId;
  keyId: ApiKeyId;
  role: Role;
  /** How the caller appears in audit events: `key:<id>`. */
  actor: string;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    db: Database;
    caller: Caller;
  };
}
