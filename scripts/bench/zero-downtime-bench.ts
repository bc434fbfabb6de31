// Zero downtime, measured: a steady open-loop load of RATE requests/s through `outpost forward
// <host>:zd` (a keep-alive client: every forwarded connection is a stream of its own, and on this
// machine new connections through forward top out near 25/s, see README) and, at the same time,
// through the app's `listen` address (a new connection for every request), first with nothing happening (the "before" p99), then during DEPLOYS
// deploys of the app in a row (`outpost deploy`, the CLI as a process; each a new release swapped in
// behind its health gate). Every request that does not answer 200 counts as failed. Bounded: each
// load sends at most RATE × its time limit requests and stops at that limit.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestAgent } from "../../test/harness/agent.ts";
import { CLI_BIN, runCli } from "../../test/harness/cli.ts";
import { freePort, type Running, start } from "../../test/harness/process.ts";
import { ms, type Row } from "./table.ts";

const RATE = 200;
/**
 * Requests in flight at most: a load past what the path can carry would otherwise pile up
 * connections without bound (at 200 new connections/s through forward, workerd ran out of its
 * 20,000 file descriptors). A request that would exceed it waits; the rate reached is reported.
 */
const MAX_IN_FLIGHT = 32;
const DEPLOYS = 10;
const BEFORE_MS = 5000;
/** The longest the load runs during the deploys (they take about 2 s each here). */
const DURING_LIMIT_MS = 5 * 60_000;
const SHOP = join(import.meta.dirname, "../../examples/shop");

interface LoadResult {
  sent: number;
  /** How long the load ran, ms (the rate reached is sent / this). */
  ranMs: number;
  ok: number;
  failed: number;
  /** Sent again after their reused keep-alive connection was closed under them (see _get). */
  retried: number;
  /** Latencies of the requests that answered, ms. */
  latencies: number[];
  firstError?: string;
}

/**
 * A GET on a new connection (`agent` undefined) or on one of a keep-alive pool's. A request that
 * fails on a reused keep-alive connection the server had just closed is sent once more, as browsers
 * and HTTP libraries do for idempotent requests (RFC 9110 §9.2.2): a TCP-level switch cannot close
 * an idle keep-alive connection without that race. Such retries are counted apart.
 */
function _get(port: number, agent: Agent | undefined, retried?: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/", agent: agent ?? false, timeout: 5000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", (error) => {
      if (req.reusedSocket && retried && !res) {
        retried();
        _get(port, agent).then(resolve, reject);
      } else reject(error);
    });
    let res: unknown;
    req.on("response", (r) => (res = r));
    req.on("timeout", () => req.destroy(new Error("no answer within 5 s")));
    req.end();
  });
}

/** Open loop: one request every 1000/RATE ms whatever the answers, until `stop()` or `limitMs`. */
function load(port: number, limitMs: number, keepAlive: boolean): { stop(): Promise<LoadResult> } {
  const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT }) : undefined;
  const result: LoadResult = { sent: 0, ranMs: 0, ok: 0, failed: 0, retried: 0, latencies: [] };
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  const max = Math.ceil((RATE * limitMs) / 1000);
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    // Catch up to the schedule (timers drift under load), never past the bound.
    const due = Math.min(max, Math.floor(((performance.now() - t0) * RATE) / 1000) + 1);
    while (result.sent < due && inFlight.size < MAX_IN_FLIGHT) {
      result.sent++;
      const at = performance.now();
      const p = _get(port, agent, () => result.retried++)
        .then((status) => {
          if (status === 200) {
            result.ok++;
            result.latencies.push(performance.now() - at);
          } else {
            result.failed++;
            result.firstError ??= `HTTP ${status}`;
          }
        })
        .catch((error: Error) => {
          result.failed++;
          result.firstError ??= error.message;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (result.sent >= max) stopped = true;
    else setTimeout(tick, 1000 / RATE);
  };
  tick();
  return {
    async stop() {
      stopped = true;
      result.ranMs = performance.now() - t0;
      await Promise.all([...inFlight]);
      agent?.destroy();
      return result;
    },
  };
}

function p99(latencies: number[]): number {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
}

/** `outpost forward <ref>:<app> --listen 127.0.0.1:0`, running; its local port. */
async function _forward(ref: string, env: Record<string, string>): Promise<{ proc: Running; port: number }> {
  const proc = start(process.execPath, [CLI_BIN, "forward", `${ref}:zd`, "--listen", "127.0.0.1:0"], {
    env: { ...process.env, ...env },
  });
  await proc.waitFor(/forwarding 127\.0\.0\.1:[1-9]\d*/, 30_000);
  return { proc, port: Number(/forwarding 127\.0\.0\.1:(\d+)/.exec(proc.output())![1]) };
}

export async function zeroDowntimeBench(o: {
  agent: TestAgent;
  env: Record<string, string>;
}): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-zd-bench-"));
  let forward: Running | undefined;
  try {
    cpSync(SHOP, dir, { recursive: true });
    const listen = await freePort();
    const spec = readFileSync(join(dir, "outpost.toml"), "utf8")
      .replace('name = "shop"', `name = "zd"\nlisten = "127.0.0.1:${listen}"`)
      .replace('interval = "200ms"', 'interval = "100ms"');
    writeFileSync(join(dir, "outpost.toml"), spec);
    const deploy = async () => {
      const res = await runCli(["deploy", "zd", dir, "--to", o.agent.ref], o.env);
      if (res.code !== 0) throw new Error(`deploy failed: ${res.stderr}${res.stdout}`);
    };
    await deploy();
    const fwd = await _forward(o.agent.ref, o.env);
    forward = fwd.proc;
    const both = (limitMs: number) => [load(fwd.port, limitMs, true), load(listen, limitMs, false)];
    const before = both(BEFORE_MS);
    await new Promise((r) => setTimeout(r, BEFORE_MS));
    const [fwdBefore, listenBefore] = (await Promise.all(before.map((l) => l.stop()))) as [
      LoadResult,
      LoadResult,
    ];
    const during = both(DURING_LIMIT_MS);
    const t0 = performance.now();
    const deployed = (async () => {
      for (let i = 0; i < DEPLOYS; i++) await deploy();
    })();
    await deployed.catch(() => {});
    const [fwdDuring, listenDuring] = (await Promise.all(during.map((l) => l.stop()))) as [
      LoadResult,
      LoadResult,
    ];
    await deployed;
    const took = performance.now() - t0;
    console.error(
      `zero-downtime bench: ${DEPLOYS} deploys in ${(took / 1000).toFixed(1)} s; forward ${fwdDuring.ok}/${fwdDuring.sent} ok` +
        `${fwdDuring.firstError ? ` (first failure: ${fwdDuring.firstError})` : ""}; listen ${listenDuring.ok}/${listenDuring.sent} ok` +
        `${listenDuring.firstError ? ` (first failure: ${listenDuring.firstError})` : ""}`,
    );
    const rows: Row[] = [];
    for (const [what, b, d] of [
      ["outpost forward (keep-alive)", fwdBefore, fwdDuring],
      ["the listen address (new connections)", listenBefore, listenDuring],
    ] as const) {
      rows.push({
        what: `failed requests at ${RATE} req/s through ${what} during ${DEPLOYS} deploys (${(took / 1000).toFixed(0)} s)`,
        value: `${d.failed} of ${d.sent} (${((d.sent * 1000) / d.ranMs).toFixed(0)}/s reached${d.retried ? `, ${d.retried} retried once` : ""})`,
        baseline: `${b.failed} of ${b.sent} before (${((b.sent * 1000) / b.ranMs).toFixed(0)}/s)`,
        ratio: "-",
        target: "0",
        met: d.failed === 0 && b.failed === 0,
      });
      const pb = p99(b.latencies);
      const pd = p99(d.latencies);
      rows.push({
        what: `HTTP p99 through ${what} during the deploys vs before`,
        value: ms(pd),
        baseline: ms(pb),
        ratio: `${(pd / pb).toFixed(2)}x`,
        target: "<= 2.0x",
        met: pd <= 2 * pb,
      });
    }
    return rows;
  } finally {
    await forward?.stop();
    await runCli(["app", "rm", "zd", "--host", o.agent.ref], o.env).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
