// `npm run bench -- --only fleet`: a simulated fleet (fleet-sim.ts, a child process speaking the real
// protocol for every host) against one local control plane of its own, started as `npm start` starts
// one (libSQL server + Miniflare) with the production heartbeat (15 s). It ramps in steps (100, 1,000,
// 10,000; OUTPOST_FLEET_STEPS=100,1000 for a shorter run), stopping at the first step the machine cannot
// take, and measures at each: connect time, heartbeat round trips (ping sent → pong back, which is the
// HostDO's answer to a heartbeat), workerd's RSS and CPU, and the simulator's own CPU. Then, with all
// connected: fan-out `true` to 1,000 hosts against one, fan-out to one host against exec to it, and a
// control-plane restart (workerd stopped and started, libSQL kept) until every host is back.
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { createClient } from "@libsql/client";
import type { Outpost } from "../../sdk/index.ts";
import { startStack } from "../../test/harness/stack.ts";
import type { SimCommand, SimStats } from "./fleet-sim.ts";
import { ms, percentile, type Row } from "./table.ts";

const HEARTBEAT_MS = 15_000;
const DEFAULT_STEPS = [100, 1000, 10_000];
const FANOUT_HOSTS = 1000;
const FANOUT_RUNS = 5;
const SINGLE_RUNS = 20;
const RESTART_TIMEOUT_MS = 180_000;
/**
 * Hosts dialling at once during the ramp, the time a step may take per host, and the time one batch
 * may take: a batch that cannot finish in that time ends the ramp (the machine takes no more).
 */
const UP_BATCH = 50;
const UP_MS_PER_HOST = 200;
const UP_BATCH_MS = 60_000;
const load = () => `load ${loadavg()[0]!.toFixed(1)}`;

// ## Processes

/** Every process below `root` (itself included), from /proc. */
function _tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {} // gone meanwhile
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

function _cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** The workerd processes this process started (Miniflare's children), newest last. */
function workerdPids(): number[] {
  return _tree(process.pid).filter((p) => p !== process.pid && /workerd\s+serve/.test(_cmdline(p)));
}

/** RSS of `pid` and everything below it, KiB. */
function treeRssKb(pid: number): number {
  let kb = 0;
  for (const p of _tree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      kb += m ? Number(m[1]) : 0;
    } catch {}
  }
  return kb;
}

/** CPU time of `pid` and everything below it, ms. */
function treeCpuMs(pid: number): number {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let total = 0;
  for (const p of _tree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) * tick; // utime, stime (fields 14 and 15)
    } catch {}
  }
  return total;
}

// ## The simulator

interface Sim {
  call<T>(cmd: SimCommand): Promise<T>;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The simulated fleet as a child process, its soft file limit raised to its hard one with prlimit(1)
 * when that is higher (10,000 sockets need 10,000 descriptors; many shells default to 1,024).
 */
function startSim(): Sim {
  const script = fileURLToPath(new URL("./fleet-sim.ts", import.meta.url));
  const hard = Number(execFileSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim()) || 0;
  let child: ChildProcess;
  const execArgv = ["--import", "tsx", "--max-old-space-size=4096"];
  const hasPrlimit = (() => {
    try {
      execFileSync("prlimit", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  if (hasPrlimit && hard > 0) {
    child = fork(script, [], {
      execPath: "prlimit",
      execArgv: [`--nofile=${hard}:${hard}`, process.execPath, ...execArgv],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
  } else {
    child = fork(script, [], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  }
  let next = 0;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on("message", (m: { id: number; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(`fleet simulator: ${m.error}`));
    else w?.resolve(m.result);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`fleet simulator exited (${code})`));
    waiting.clear();
  });
  return {
    pid: child.pid!,
    call<T>(cmd: SimCommand): Promise<T> {
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd });
      });
    },
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}

// ## Measurements

interface CpuMark {
  at: number;
  workerd: number;
  bench: number;
  sim: number;
}

/** CPU used so far by workerd, this process (the libSQL server and the API client) and the simulator. */
async function cpuNow(sim: Sim, workerd: number): Promise<CpuMark> {
  const own = process.cpuUsage();
  return {
    at: performance.now(),
    workerd: treeCpuMs(workerd),
    bench: (own.user + own.system) / 1000,
    sim: (await sim.call<SimStats>({ op: "stats" })).cpuMs,
  };
}

/** Where the CPU went since `mark`, each as a share of one core. */
async function cpuSince(mark: CpuMark, sim: Sim, workerd: number): Promise<string> {
  const now = await cpuNow(sim, workerd);
  const wall = now.at - mark.at;
  const share = (a: number, b: number) => `${(((a - b) / wall) * 100).toFixed(0)}%`;
  return `CPU over ${secs(wall)}: workerd ${share(now.workerd, mark.workerd)}, libSQL server + client ${share(now.bench, mark.bench)}, simulator ${share(now.sim, mark.sim)} of a core`;
}

async function fanoutOnce(
  client: Outpost,
  selector: string,
): Promise<{ ms: number; exits: number; failed: number }> {
  const t = performance.now();
  const run = client.fanout("fleet", ["true"], { selector, maxParallel: 256 });
  let exits = 0;
  let failed = 0;
  for await (const e of run.events) {
    if (e.t === "exit" && e.code === 0) exits++;
    else if (e.t === "exit" || e.t === "failed") failed++;
    else if (e.t === "done") break;
  }
  return { ms: performance.now() - t, exits, failed };
}

async function execOnce(client: Outpost, host: string): Promise<number> {
  const t = performance.now();
  const s = client.execStream(host, ["true"]);
  await s.stdin.close();
  const drain = async (r: ReadableStream<Uint8Array>) => {
    for await (const _ of r as unknown as AsyncIterable<Uint8Array>);
  };
  await Promise.all([drain(s.stdout), drain(s.stderr), s.exited]);
  return performance.now() - t;
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const kib = (kb: number) => `${kb.toFixed(1)} KiB`;
const secs = (msv: number) => `${(msv / 1000).toFixed(1)} s`;

function _steps(): number[] {
  const text = process.env.OUTPOST_FLEET_STEPS;
  if (!text) return DEFAULT_STEPS;
  const steps = text.split(",").map(Number);
  if (steps.some((n) => !Number.isInteger(n) || n < 1 || n > 20_000))
    throw new Error(`OUTPOST_FLEET_STEPS=${text}: expected counts between 1 and 20000, like 100,1000`);
  return steps.sort((a, b) => a - b);
}

export async function fleetBench(): Promise<Row[]> {
  const steps = _steps();
  const biggest = steps.at(-1)!;
  const before = new Set(workerdPids());
  // Lines workerd prints that say a database call failed (the Worker and the objects log them).
  let dbErrors = 0;
  const dbErrorSamples: string[] = [];
  const stack = await startStack({
    heartbeatMs: HEARTBEAT_MS,
    onOutput: (text) => {
      for (const line of text.split("\n")) {
        if (/SQLITE_|LibsqlError|database|libsql|HRANA/i.test(line) && /error|fail/i.test(line)) {
          dbErrors++;
          if (dbErrorSamples.length < 3) dbErrorSamples.push(line.slice(0, 200));
        }
      }
    },
  });
  const workerd = () => {
    const pids = workerdPids().filter((p) => !before.has(p));
    if (pids.length === 0) throw new Error("cannot find the fleet control plane's workerd process");
    return pids.at(-1)!;
  };
  const sim = startSim();
  const rows: Row[] = [];
  try {
    const { client, token } = await stack.tenant("fleet");
    await client.clusters.create("fleet");
    await client.sites.create("fleet", "local");
    const enrolled = await sim.call<{ enrolled: number; ms: number; tokenMs: number; enrollMs: number }>({
      op: "enroll",
      url: stack.url,
      key: token,
      cluster: "fleet",
      site: "local",
      count: biggest,
    });
    console.log(
      `fleet: enrolled ${enrolled.enrolled} hosts in ${secs(enrolled.ms)} (per host: token ${ms(enrolled.tokenMs / biggest)}, enroll ${ms(enrolled.enrollMs / biggest)})`,
    );
    await new Promise((r) => setTimeout(r, 3000));
    const idleKb = treeRssKb(workerd());

    let reached = 0;
    let limit: string | undefined;
    let connectMs = 0;
    let p99Small: number | undefined;
    let rssPerAgent: { kb: number; n: number; totalKb: number } | undefined;
    for (const n of steps) {
      const up = await sim.call<{
        ready: number;
        complete: boolean;
        ms: number;
        failures: number;
        failureSamples: [string, number][];
        cpuShare: number;
      }>({
        op: "up",
        count: n,
        batch: UP_BATCH,
        batchMs: UP_BATCH_MS,
        timeoutMs: Math.max(120_000, n * UP_MS_PER_HOST),
      });
      console.log(
        `fleet: step ${n}: ${up.ready} ready in ${secs(up.ms)}, ${up.failures} failed dials, simulator CPU ${(up.cpuShare * 100).toFixed(0)}%, ${load()}`,
      );
      if (up.failures > 0) console.log(`fleet:   failures: ${JSON.stringify(up.failureSamples)}`);
      if (!up.complete) {
        reached = up.ready;
        limit = `step ${n} stopped at ${up.ready} ready after ${secs(up.ms)} (${JSON.stringify(up.failureSamples)})`;
        break;
      }
      reached = up.ready;
      connectMs = up.ms;
      // Heartbeats over one whole interval and a bit: every host pings at least once.
      const cpu0 = treeCpuMs(workerd());
      const hb = await sim.call<{ latencies: number[]; cpuShare: number }>({
        op: "pongs",
        ms: HEARTBEAT_MS + 2000,
      });
      const workerdShare = (treeCpuMs(workerd()) - cpu0) / (HEARTBEAT_MS + 2000);
      const totalKb = treeRssKb(workerd());
      const p50 = percentile(hb.latencies, 50);
      const p99 = percentile(hb.latencies, 99);
      const stats = await sim.call<SimStats>({ op: "stats" });
      console.log(
        `fleet: step ${n}: ${hb.latencies.length} heartbeats, p50 ${ms(p50)} p99 ${ms(p99)}; workerd CPU ${(workerdShare * 100).toFixed(0)}%, RSS ${(totalKb / 1024).toFixed(0)} MiB; simulator CPU ${(hb.cpuShare * 100).toFixed(0)}%, RSS ${(stats.rssKb / 1024).toFixed(0)} MiB, ${stats.fds} fds (limit ${stats.nofile.join("/")}), ${load()}`,
      );
      p99Small ??= p99;
      rows.push({
        what: `heartbeat p99, ${n} connected (${hb.latencies.length} pings, ${load()})`,
        value: ms(p99),
        baseline: `${ms(p99Small)} at ${steps[0]}`,
        ratio: `${(p99 / p99Small).toFixed(2)}x`,
        target: "< 100 ms",
        met: p99 < 100,
      });
      rows.push({
        what: `  workerd / simulator CPU, ${n} connected`,
        value: `${(workerdShare * 100).toFixed(0)}% of a core`,
        baseline: `${(hb.cpuShare * 100).toFixed(0)}% simulator`,
        ratio: "-",
        target: "simulator not the limit",
        met: hb.cpuShare < 0.9,
      });
      rssPerAgent = { kb: (totalKb - idleKb) / n, n, totalKb };
    }

    rows.unshift({
      what: "simulated agents connected to one local control plane",
      value: String(reached),
      baseline: `${secs(connectMs)} to connect`,
      ratio: "-",
      target: `${biggest.toLocaleString("en")}`,
      met: reached >= 10_000 && reached >= biggest,
    });
    if (limit) console.log(`fleet: limit reached: ${limit}`);
    // OUTPOST_FLEET_HOLD=<s>: keeps the fleet connected that long before the fan-out rows, for a
    // profiler (OUTPOST_INSPECTOR_PORT) or strace on the printed workerd.
    const hold = Number(process.env.OUTPOST_FLEET_HOLD ?? 0);
    if (hold > 0 && hold <= 3600) {
      console.log(`fleet: holding ${reached} connected for ${hold} s; workerd is pid ${workerd()}`);
      await new Promise((r) => setTimeout(r, hold * 1000));
    }
    if (rssPerAgent) {
      rows.push({
        what: `workerd RSS per connected agent (${rssPerAgent.n})`,
        value: kib(rssPerAgent.kb),
        baseline: `${(idleKb / 1024).toFixed(0)} MiB idle, ${(rssPerAgent.totalKb / 1024).toFixed(0)} MiB connected`,
        ratio: "-",
        target: "≤ 100 KiB",
        met: rssPerAgent.kb <= 100,
      });
    }

    // Fan-out: one host, against exec to that host; then 1,000 hosts, against one. A host that lost
    // its connection during the ramp (a handshake past its deadline) is given time to come back.
    if (reached >= 1 && !(await sim.call<boolean>({ op: "settle", timeoutMs: 120_000 })))
      console.log("fleet: not every host is back before the fan-out rows");
    if (reached >= 1) {
      try {
        for (let i = 0; i < 5; i++) {
          await fanoutOnce(client, "fan=one");
          await execOnce(client, "sim-00000.fleet");
        }
        const fan1: number[] = [];
        const exec1: number[] = [];
        for (let i = 0; i < SINGLE_RUNS; i++) {
          const f = await fanoutOnce(client, "fan=one");
          if (f.exits !== 1) throw new Error(`fan-out to one host: ${f.exits} exits, ${f.failed} failed`);
          fan1.push(f.ms);
          exec1.push(await execOnce(client, "sim-00000.fleet"));
        }
        const f1 = median(fan1);
        const e1 = median(exec1);
        rows.push({
          what: `fan-out \`true\` to 1 host, median of ${SINGLE_RUNS}`,
          value: ms(f1),
          baseline: `${ms(e1)} exec to that host`,
          ratio: `${(f1 / e1).toFixed(2)}x`,
          target: "≤ 1.2x",
          met: f1 / e1 <= 1.2,
        });
        if (reached >= FANOUT_HOSTS) {
          const runs: number[] = [];
          let worst = { exits: FANOUT_HOSTS, failed: 0 };
          const cpu = await cpuNow(sim, workerd());
          for (let i = 0; i < FANOUT_RUNS; i++) {
            const f = await fanoutOnce(client, "thousand=yes");
            if (f.exits < worst.exits) worst = f;
            runs.push(f.ms);
          }
          console.log(`fleet: fan-out to ${FANOUT_HOSTS}: ${await cpuSince(cpu, sim, workerd())}`);
          const f1000 = median(runs);
          const ok = worst.exits === FANOUT_HOSTS;
          rows.push({
            what: `fan-out \`true\` to ${FANOUT_HOSTS} hosts, median of ${FANOUT_RUNS}${ok ? "" : ` (${worst.exits} exits, ${worst.failed} failed)`}`,
            value: ms(f1000),
            baseline: `${ms(f1)} one host`,
            ratio: `${(f1000 / f1).toFixed(1)}x`,
            target: "< 5 s, ≤ 20x",
            met: ok && f1000 < 5000 && f1000 / f1 <= 20,
          });
        }
      } catch (err) {
        rows.push({
          what: "fan-out rows",
          value: "failed",
          baseline: String(err instanceof Error ? err.message : err).slice(0, 80),
          ratio: "-",
          target: "-",
          met: false,
        });
      }
    }

    // The herd: workerd stopped and started on the same port, libSQL kept; every host redials with
    // the agent's backoff and jitter.
    if (reached >= 1) {
      dbErrors = 0;
      await sim.call({ op: "mark" });
      const restartStarted = performance.now();
      await stack.restartControlPlane();
      const cpu = await cpuNow(sim, workerd());
      const restartMs = performance.now() - restartStarted;
      const back = await sim.call<{
        all: boolean;
        ready: number;
        want: number;
        wentDown: number;
        ms: number;
        failedDials: number;
        failureSamples: [string, number][];
        cpuShare: number;
      }>({ op: "waitAll", timeoutMs: RESTART_TIMEOUT_MS });
      console.log(`fleet: the herd: ${await cpuSince(cpu, sim, workerd())}`);
      // Every host back is online in the database too: nothing the herd wrote was lost.
      const db = createClient({ url: stack.dbUrl });
      const online = Number(
        (await db.execute("SELECT count(*) AS n FROM hosts WHERE status = 'online'")).rows[0]!.n,
      );
      db.close();
      console.log(
        `fleet: restart (workerd down and up in ${secs(restartMs)}, ${load()}): ${back.ready}/${back.want} back in ${secs(back.ms)}, ${back.failedDials} failed dials ${JSON.stringify(back.failureSamples)}, ${online} online in libSQL, ${dbErrors} database errors ${JSON.stringify(dbErrorSamples)}; simulator CPU ${(back.cpuShare * 100).toFixed(0)}%`,
      );
      rows.push({
        what: `all ${back.want} back after a control-plane restart`,
        value: back.all ? secs(back.ms) : `${back.ready} after ${secs(back.ms)}`,
        baseline: `${secs(connectMs)} first connect`,
        ratio: `${dbErrors} db errors, ${online} online`,
        target: "< 60 s, 0 db errors",
        met: back.all && back.ms < 60_000 && dbErrors === 0 && online === back.want,
      });
    }
    const stats = await sim.call<SimStats>({ op: "stats" });
    rows.push({
      what: "  simulator file descriptors",
      value: String(stats.fds),
      baseline: `limit ${stats.nofile.join("/")} (soft/hard, raised with prlimit)`,
      ratio: "-",
      target: "-",
      met: null,
    });
  } finally {
    await sim.call({ op: "down" }).catch(() => {});
    await sim.stop();
    await stack.close();
  }
  return rows;
}
