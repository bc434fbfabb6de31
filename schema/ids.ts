// Prefixed, branded identifiers and secrets. A host id can't be passed where a cluster id is expected,
// and every id says what it is when it shows up in a log line or a row (tailscale's `nodekey:` idea).
// Names (DNS labels) never contain `_`, so `cl_…` can't collide with a cluster named by the user.

import { type HostId, isHostId, newHostId } from "./protocol/keys.ts";

// A phantom property (never present at run time) rather than a unique symbol: declaration files (the
// SDK package's .d.ts) must be able to name every branded type, and a module-private symbol cannot be.
type Brand<T, B extends string> = T & { readonly __brand: B };

const ID_PREFIXES = {
  tenant: "ten",
  apiKey: "key",
  cluster: "cl",
  site: "site",
  host: "host",
  token: "tok",
  session: "ses",
  service: "svc",
  meshRoute: "mesh",
  exposure: "exp",
  artifactUpload: "upl",
  app: "app",
  deployment: "dep",
  workload: "wl",
  action: "act",
  job: "job",
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

export type TenantId = Brand<`ten_${string}`, "TenantId">;
export type ApiKeyId = Brand<`key_${string}`, "ApiKeyId">;
export type ClusterId = Brand<`cl_${string}`, "ClusterId">;
export type SiteId = Brand<`site_${string}`, "SiteId">;
export type TokenId = Brand<`tok_${string}`, "TokenId">;
export type SessionId = Brand<`ses_${string}`, "SessionId">;
export type ServiceId = Brand<`svc_${string}`, "ServiceId">;
export type MeshRouteId = Brand<`mesh_${string}`, "MeshRouteId">;
export type ExposureId = Brand<`exp_${string}`, "ExposureId">;
export type AppId = Brand<`app_${string}`, "AppId">;
export type DeploymentId = Brand<`dep_${string}`, "DeploymentId">;
/** A workload's id, as workloads.ts carries it on the wire. */
export type WorkloadId = Brand<`wl_${string}`, "WorkloadId">;
export type ActionId = Brand<`act_${string}`, "ActionId">;
export type ArtifactUploadId = Brand<`upl_${string}`, "ArtifactUploadId">;
export type JobId = Brand<`job_${string}`, "JobId">;

/** The id type of each kind: `newId("cluster")` is a ClusterId. */
export interface IdOf {
  tenant: TenantId;
  apiKey: ApiKeyId;
  cluster: ClusterId;
  site: SiteId;
  host: HostId;
  token: TokenId;
  session: SessionId;
  service: ServiceId;
  meshRoute: MeshRouteId;
  exposure: ExposureId;
  artifactUpload: ArtifactUploadId;
  app: AppId;
  deployment: DeploymentId;
  workload: WorkloadId;
  action: ActionId;
  job: JobId;
}

/** Secret-bearing strings: an API key (`opk_…`) and an enrollment token (`oet_…`). */
export type ApiKeySecret = Brand<`opk_${string}`, "ApiKeySecret">;
type EnrollmentSecret = Brand<`oet_${string}`, "EnrollmentSecret">;
interface SecretOf {
  apiKey: ApiKeySecret;
  enrollment: EnrollmentSecret;
}

// Crockford-ish lowercase base32 without ambiguous letters: ids stay readable and URL-safe.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** `n` random base32 characters (5 bits each) from the platform CSPRNG. */
export function randomBase32(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

export function newId<K extends IdKind>(kind: K): IdOf[K] {
  // Host ids travel in signed frames, so their format is the wire protocol's (protocol/keys.ts).
  if (kind === "host") return newHostId() as IdOf[K];
  return `${ID_PREFIXES[kind]}_${randomBase32(16)}` as IdOf[K];
}

export function isId<K extends IdKind>(kind: K, value: unknown): value is IdOf[K] {
  if (kind === "host") return isHostId(value);
  return typeof value === "string" && new RegExp(`^${ID_PREFIXES[kind]}_[${ALPHABET}]{16}$`).test(value);
}

/** `text` as an id of `kind`, for values that arrive as plain strings (route params, request bodies). */
export function parseId<K extends IdKind>(kind: K, text: string): IdOf[K] {
  if (isId(kind, text)) return text;
  throw new TypeError(
    `Cannot parse ${kind} id: "${text.slice(0, 60)}" is not "${ID_PREFIXES[kind]}_" and 16 base32 characters`,
  );
}

export const SECRET_PREFIXES = { apiKey: "opk", enrollment: "oet" } as const;

/**
 * A secret is `<kind>_<lookup prefix, 12 chars>_<secret, 40 chars = 200 bits>`. The lookup prefix is
 * stored in clear to find the row; only a hash of the whole string is stored.
 */
export function newSecret<K extends keyof typeof SECRET_PREFIXES>(
  kind: K,
): { secret: SecretOf[K]; prefix: string } {
  const prefix = randomBase32(12);
  return { prefix, secret: `${SECRET_PREFIXES[kind]}_${prefix}_${randomBase32(40)}` as SecretOf[K] };
}

/**
 * A well-formed secret of `kind` as its branded type, with its lookup prefix, or null when `text` is
 * not one of ours: the boundary where a bearer string becomes a secret.
 */
export function parseSecret<K extends keyof typeof SECRET_PREFIXES>(
  kind: K,
  text: string,
): { secret: SecretOf[K]; prefix: string } | null {
  const m = new RegExp(`^${SECRET_PREFIXES[kind]}_([${ALPHABET}]{12})_[${ALPHABET}]{40}$`).exec(text);
  return m ? { secret: text as SecretOf[K], prefix: m[1]! } : null;
}
