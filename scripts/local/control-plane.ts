// Runs the control plane locally: the bundled Worker in Miniflare (real workerd) against a libSQL
// server. Used by `npm start` and by the tests, so both exercise the same path as production.
import { Miniflare } from "miniflare";
import { buildWorker } from "../build.ts";
import { wranglerCompat } from "./wrangler-compat.ts";

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
  /** Directory for the R2 bucket (artifacts, images, recordings); in memory when absent. */
  r2PersistDir?: string;
  /** Every line workerd prints (the Worker's and Durable Objects' logs), for a test that reads them. */
  onOutput?: (text: string) => void;
  /** Use an already built bundle instead of building one. */
  scriptPath?: string;
  /** Agent ping interval; a host is offline after two silent intervals (default 15 s). */
  heartbeatMs?: number;
  /** The control plane's public origin (PUBLIC_URL): its hostname is the API's, whatever else exists. */
  publicUrl?: string;
  /** Exposures are served at `<name>.<exposureDomain>` (default "localhost": `http://<name>.localhost:<port>/`). */
  exposureDomain?: string;
  /** Window over which failed authentication is counted (default 60 s); tests shorten it. */
  authThrottleWindowMs?: number;
  /** Artifact limits in bytes (worker/artifacts/limits.ts); tests lower them. */
  artifacts?: { partBytes?: number; maxBytes?: number; quotaBytes?: number };
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
    r2Buckets: { ARTIFACTS: "outpost-artifacts" },
    ...(opts.r2PersistDir ? { r2Persist: opts.r2PersistDir } : {}),
    ...(opts.onOutput ? { handleRuntimeStdio: _forward(opts.onOutput) } : {}),
    bindings: {
      DATABASE_URL: opts.databaseUrl,
      ...(opts.databaseAuthToken ? { DATABASE_AUTH_TOKEN: opts.databaseAuthToken } : {}),
      OUTPOST_ADMIN_TOKEN: opts.adminToken,
      ...(opts.signingKey ? { CP_SIGNING_KEY: opts.signingKey } : {}),
      ...(opts.heartbeatMs ? { HEARTBEAT_MS: String(opts.heartbeatMs) } : {}),
      ...(opts.publicUrl ? { PUBLIC_URL: opts.publicUrl } : {}),
      // Browsers and curl resolve every *.localhost name to loopback (RFC 6761 §6.3).
      EXPOSURE_DOMAIN: opts.exposureDomain ?? "localhost",
      ...(opts.authThrottleWindowMs ? { AUTH_THROTTLE_WINDOW_MS: String(opts.authThrottleWindowMs) } : {}),
      ...(opts.artifacts?.partBytes ? { ARTIFACT_PART_BYTES: String(opts.artifacts.partBytes) } : {}),
      ...(opts.artifacts?.maxBytes ? { ARTIFACT_MAX_BYTES: String(opts.artifacts.maxBytes) } : {}),
      ...(opts.artifacts?.quotaBytes ? { ARTIFACT_QUOTA_BYTES: String(opts.artifacts.quotaBytes) } : {}),
    },
  });
  const url = (await mf.ready).origin;
  return { url, mf, close: () => mf.dispose() };
}

/** workerd's stdout and stderr, to the terminal as before and to `sink` too. */
function _forward(sink: (text: string) => void) {
  return (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
    for (const [stream, out] of [
      [stdout, process.stdout],
      [stderr, process.stderr],
    ] as const) {
      stream.on("data", (chunk: Buffer | string) => {
        out.write(chunk);
        sink(chunk.toString());
      });
    }
  };
}
