// A whole control plane for one test file: a real libSQL server on a temp file, the migrations, and
// the bundled Worker in real workerd (Miniflare), all on loopback with ephemeral ports.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLibsqlServer } from "../../scripts/libsql-server/server.ts";
import { type ControlPlane, startControlPlane } from "../../scripts/local/control-plane.ts";
import { migrateDatabase } from "../../scripts/migrate.ts";
import { Outpost } from "../../sdk/index.ts";
import { freePort } from "./process.ts";

const workerBundle = fileURLToPath(new URL("../../dist/worker.js", import.meta.url));

/** Tests run agents with a short heartbeat, so that liveness changes show up within seconds, yet not so
 * short that two intervals of CPU starvation on a loaded 2-core machine look like a dead host. */
const TEST_HEARTBEAT_MS = 3000;

export interface Stack {
  url: string;
  /**
   * The test's database for clients that bypass the API (fixtures), token included as
   * `?authToken=…`, which @libsql/client reads from the URL: the server refuses anyone without it.
   */
  dbUrl: string;
  dbAuthToken: string;
  adminToken: string;
  dir: string;
  cp: ControlPlane;
  admin: Outpost;
  /** Creates a tenant and returns a client holding its admin key. */
  tenant(name: string): Promise<{ id: string; token: string; client: Outpost }>;
  /** The same, with the cluster `prod` and its site `prod/fra1` made, where most tests put their hosts. */
  tenantInProd(name: string): Promise<{ id: string; token: string; client: Outpost }>;
  /** Stops the Worker (all Durable Objects) and starts it again on the same port. */
  restartControlPlane(): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /**
   * The control plane's public hostname (PUBLIC_URL's), as a deployment has one, e.g.
   * "outpost.acme.test"; requests reach it on loopback with that Host. Default: 127.0.0.1.
   */
  publicHostname?: string;
  /** Shortens the failed-authentication window (60 s) for tests that wait it out. */
  authThrottleWindowMs?: number;
  /** The heartbeat the control plane announces (default TEST_HEARTBEAT_MS); the fleet bench uses 15 s. */
  heartbeatMs?: number;
  /** Receives everything workerd prints (test/secrets-e2e.test.ts looks for plaintext in it). */
  onOutput?: (text: string) => void;
  /** Artifact part size, largest artifact and per-tenant quota, in bytes (lowered by artifact tests). */
  artifacts?: { partBytes?: number; maxBytes?: number; quotaBytes?: number };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-test-"));
  // Authenticated like `npm start`'s, so every test runs the Worker's authenticated database path.
  const dbAuthToken = `test_${crypto.randomUUID()}`;
  const db = await startLibsqlServer({
    path: join(dir, "outpost.db"),
    host: "127.0.0.1",
    port: 0,
    authToken: dbAuthToken,
  });
  await migrateDatabase(db.url, dbAuthToken);
  const adminToken = `opa_test_${crypto.randomUUID()}`;
  // The Worker must know its own URL (PUBLIC_URL) before it listens, so its port is chosen first.
  const port = await freePort();
  const options = {
    port,
    // As in `npm start`: the API at its loopback address, exposures at http://<name>.localhost:<port>/.
    publicUrl: `http://${opts.publicHostname ?? "127.0.0.1"}:${port}`,
    exposureDomain: "localhost",
    databaseUrl: db.url,
    databaseAuthToken: dbAuthToken,
    adminToken,
    signingKey: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url"),
    scriptPath: workerBundle,
    heartbeatMs: TEST_HEARTBEAT_MS,
    persistDir: join(dir, "durable-objects"),
    r2PersistDir: join(dir, "r2"),
    ...opts,
  };
  let cp = await startControlPlane(options);
  const admin = new Outpost({ url: cp.url, token: adminToken });
  const tenant = async (name: string) => {
    const res = await admin.tenants.create(name);
    return { id: res.tenant.id, token: res.token, client: new Outpost({ url: cp.url, token: res.token }) };
  };
  return {
    url: cp.url,
    dbUrl: `${db.url}?authToken=${encodeURIComponent(dbAuthToken)}`,
    dbAuthToken,
    adminToken,
    dir,
    get cp() {
      return cp;
    },
    admin,
    async restartControlPlane() {
      await cp.close();
      cp = await startControlPlane(options);
    },
    tenant,
    async tenantInProd(name) {
      const t = await tenant(name);
      await t.client.clusters.create("prod");
      await t.client.sites.create("prod", "fra1");
      return t;
    },
    async close() {
      await cp.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A raw request with a bearer token, for the cases the typed client refuses to express. */
export async function raw(
  stack: Pick<Stack, "url">,
  method: string,
  path: string,
  opts: { token?: string; body?: string | object; headers?: Record<string, string> } = {},
): Promise<{
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}
