// Swaps under load through `outpost forward` with kept-alive connections (as the zero-downtime bench
// drives it): new connections land on the live release and requests on the old one finish. The shop
// (examples/shop) used to crash on the first request a kept-alive connection brought after SIGTERM
// (a second "request" listener calling setHeader after the answer: ERR_HTTP_HEADERS_SENT), cutting
// the requests in flight on every connection it still held ("socket hang up"); this caught it.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { killAppProcesses } from "./harness/app-processes.ts";
import { runCli } from "./harness/cli.ts";
import { start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const SHOP = fileURLToPath(new URL("../examples/shop", import.meta.url));
const CLI = fileURLToPath(new URL("../sdk/bin/outpost.js", import.meta.url));
const SWAPS = 3;
/** Bounds of the load: requests, in flight, and time. */
const MAX_REQUESTS = 20_000;
const IN_FLIGHT = 16;
const LOAD_LIMIT_MS = 90_000;

let stack: Stack;
let env: Record<string, string>;
const agents: TestAgent[] = [];

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("forward-swap");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token, OUTPOST_DEPLOY_WAIT_MS: "40000" };
  for (const runtime of RUNTIMES)
    agents.push(
      await startAgent(t.client, {
        runtime,
        name: `fs-${runtime}`,
        cluster: "prod",
        site: "fra1",
        url: stack.url,
      }),
    );
}, 180_000);

afterAll(async () => {
  for (const a of agents) {
    await a.stop();
    killAppProcesses(a.stateDir, `fs-${a.runtime}`);
  }
  await stack?.close();
});

function shop(greeting: string): string {
  const dir = mkdtempSync(join(tmpdir(), "shop-fs-"));
  cpSync(SHOP, dir, { recursive: true });
  const toml = readFileSync(join(dir, "outpost.toml"), "utf8");
  writeFileSync(
    join(dir, "outpost.toml"),
    toml.replace("[health]", `env = { SHOP_GREETING = "${greeting}" }\n\n[health]`),
  );
  return dir;
}

/**
 * One GET on the pool. A request whose reused kept-alive connection was closed before any answer is
 * sent once more, as HTTP clients do for idempotent requests (RFC 9110 §9.2.2), and counted apart.
 */
function get(port: number, agent: Agent, retried: () => void, again = true): Promise<string> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: "127.0.0.1", port, path: "/", agent, timeout: 10_000 }, (res) => {
      answered = true;
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
      res.on("error", reject);
    });
    req.on("error", (error) => {
      if (again && req.reusedSocket && !answered) {
        retried();
        get(port, agent, retried, false).then(resolve, reject);
      } else reject(error);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.end();
  });
}

describe.each(RUNTIMES)("swaps through outpost forward on a %s agent", (runtime) => {
  it(`loses no request of a kept-alive load during ${SWAPS} swaps`, async () => {
    const agent = agents.find((a) => a.runtime === runtime)!;
    const name = `fs-${runtime}`;
    const first = await runCli(["deploy", name, shop("v0"), "--to", agent.ref], env);
    expect(first.code, first.stderr).toBe(0);
    const fwd = start(process.execPath, [CLI, "forward", `${agent.ref}:${name}`, "--listen", "127.0.0.1:0"], {
      env: { ...process.env, ...env },
    });
    await fwd.waitFor(/forwarding 127\.0\.0\.1:[1-9]\d*/, 30_000);
    const port = Number(/forwarding 127\.0\.0\.1:(\d+)/.exec(fwd.output())![1]);
    const pool = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const seen = new Set<string>();
    const failures: string[] = [];
    let ok = 0;
    let retried = 0;
    let stop = false;
    const deadline = Date.now() + LOAD_LIMIT_MS;
    let sent = 0;
    const worker = async () => {
      while (!stop && sent < MAX_REQUESTS && Date.now() < deadline) {
        sent++;
        try {
          const body = await get(port, pool, () => retried++);
          ok++;
          seen.add(/says (\S+)/.exec(body)?.[1] ?? body);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    };
    const load = Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    try {
      for (let i = 1; i <= SWAPS; i++) {
        const res = await runCli(["deploy", name, shop(`v${i}`), "--to", agent.ref], env);
        expect(res.code, res.stderr).toBe(0);
      }
      // Past the last old release's drain (the shop exits within 4 s of SIGTERM).
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      stop = true;
      await load;
      pool.destroy();
      await fwd.stop();
    }
    expect(failures.slice(0, 5), `${failures.length} failed of ${sent} (${retried} retried)`).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect(seen).toContain(`v${SWAPS}`);
    expect(seen.size).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
