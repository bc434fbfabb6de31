// Runs the control plane locally: the bundled Worker in Miniflare (real workerd) against a libSQL
// server. Used by `npm start` and by the tests, so both exercise the same path as production.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { buildWorker } from "../build.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** compatibility_date and flags come from wrangler.toml so local and deployed Workers match. */
function wranglerCompat(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(`${root}wrangler.toml`, "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return {
    compatibilityDate: date,
    compatibilityFlags: flags ? [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) : [],
  };
}

export interface ControlPlaneOptions {
  databaseUrl: string;
  databaseAuthToken?: string;
  adminToken: string;
  signingKey?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Directory for Durable Object storage; in memory when absent. */
  persistDir?: string;
  /** Use an already built bundle instead of building one. */
  scriptPath?: string;
  /** Agent ping interval; a host is offline after two silent intervals (default 15 s). */
  heartbeatMs?: number;
  /** Window over which failed authentication is counted (default 60 s); tests shorten it. */
  authThrottleWindowMs?: number;
}

export interface ControlPlane {
  url: string;
  mf: Miniflare;
  close(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const scriptPath = opts.scriptPath ?? (await buildWorker());
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    ...wranglerCompat(),
    host: opts.host ?? "127.0.0.1",
    port: opts.port ?? 0,
    durableObjects: { HOST: "HostDO", CLUSTER: "ClusterDO", THROTTLE: "ThrottleDO" },
    // DevTools (and CPU profiles) of the Worker and its Durable Objects, for whoever asks for them.
    ...(process.env.OUTPOST_INSPECTOR_PORT
      ? { inspectorPort: Number(process.env.OUTPOST_INSPECTOR_PORT) }
      : {}),
    ...(opts.persistDir ? { durableObjectsPersist: opts.persistDir } : {}),
    bindings: {
      DATABASE_URL: opts.databaseUrl,
      ...(opts.databaseAuthToken ? { DATABASE_AUTH_TOKEN: opts.databaseAuthToken } : {}),
      OUTPOST_ADMIN_TOKEN: opts.adminToken,
      ...(opts.signingKey ? { CP_SIGNING_KEY: opts.signingKey } : {}),
      ...(opts.heartbeatMs ? { HEARTBEAT_MS: String(opts.heartbeatMs) } : {}),
      ...(opts.authThrottleWindowMs ? { AUTH_THROTTLE_WINDOW_MS: String(opts.authThrottleWindowMs) } : {}),
    },
  });
  const url = (await mf.ready).origin;
  return { url, mf, close: () => mf.dispose() };
}
