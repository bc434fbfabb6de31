// Deploying an app to a host against the SSH way, in the same run. Outpost's way is the real
// `outpost deploy` (the CLI as a process) of a 100 MB tar.gz app to a running Bun agent: upload once
// in parts straight to its R2 key, the agent fetches it signed as its host, verifies the sha256 while
// it unpacks atomically, starts the release and waits for its health check, and the CLI returns when
// the release is live. The SSH way: scp of the same file to a loopback sshd, then
// `ssh host 'tar xzf … && start'`, then the same health check polled until it passes. Then the second
// deploy of the unchanged file (nothing to upload: a new release of the same artifact), and the RSS of
// workerd and of the agent while a 1 GiB artifact is deployed: peak minus what they had at the start.
import { execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { createGzip } from "node:zlib";
import { createTarPacker } from "modern-tar";
import type { TestAgent } from "../../test/harness/agent.ts";
import { CLI_BIN, runCli } from "../../test/harness/cli.ts";
import type { Sshd } from "../../test/harness/sshd.ts";
import { rssKb } from "./rss-bench.ts";
import { mib, ms, type Row } from "./table.ts";

const run = promisify(execFile);
const MB = 1_000_000;
const CHUNK = 4 * 1024 * 1024;
/** The large artifact: 1 GiB; OUTPOST_BENCH_BIG_MIB changes it (a loaded machine may need less). */
const BIG_BYTES = (Number(process.env.OUTPOST_BENCH_BIG_MIB) || 1024) * 1024 * 1024;
const BUN = join(import.meta.dirname, "../../node_modules/.bin/bun");

/** The app both ways run: answers /healthz on $PORT (node:http runs on Bun). */
const SERVER = `import { createServer } from "node:http";
createServer((req, res) => res.end(req.url === "/healthz" ? "ok\\n" : "bench\\n")).listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

const SPEC = `name = "bench"
cmd = ["\${OUTPOST_RUNTIME}", "server.mjs"]
stop_timeout = "2s"
keep = 2

[health]
http = "/healthz"
interval = "100ms"
timeout = "2s"
grace = "60s"
`;

/** A tar.gz of the app and one `bytes`-long random file, written as a stream (gzip level 1: random data does not shrink). */
async function makeArtifact(path: string, bytes: number): Promise<void> {
  const { readable, controller } = createTarPacker();
  const gzip = createGzip({ level: 1 });
  const out = gzip.pipe(createWriteStream(path));
  const closed = new Promise<void>((resolve, reject) => out.on("close", () => resolve()).on("error", reject));
  const piped = readable.pipeTo(Writable.toWeb(gzip) as WritableStream<Uint8Array>);
  const server = new TextEncoder().encode(SERVER);
  const app = controller
    .add({ name: "server.mjs", type: "file", size: server.byteLength, mode: 0o644 })
    .getWriter();
  await app.write(server);
  await app.close();
  const body = controller.add({ name: "payload.bin", type: "file", size: bytes, mode: 0o644 }).getWriter();
  for (let left = bytes; left > 0; left -= CHUNK) await body.write(randomBytes(Math.min(CHUNK, left)));
  await body.close();
  controller.finalize();
  await piped;
  await closed;
}

/** RSS (KiB) of the processes `pids()` names while `work` runs, sampled every 50 ms, and at the start. */
async function sampleRss<T>(
  pids: () => (number | undefined)[],
  work: () => Promise<T>,
): Promise<{ result: T; samples: { at: number; kb: number[] }[]; starts: number[] }> {
  const read = (pid: number | undefined) => {
    try {
      return pid === undefined ? 0 : rssKb(pid);
    } catch {
      return 0;
    }
  };
  const t0 = performance.now();
  const starts = pids().map(read);
  const samples: { at: number; kb: number[] }[] = [];
  const sample = () => samples.push({ at: performance.now() - t0, kb: pids().map(read) });
  const timer = setInterval(sample, 50);
  try {
    return { result: await work(), samples, starts };
  } finally {
    clearInterval(timer);
    sample();
  }
}

/** The highest sample of process `i` within [from, to) ms. */
function peakOf(samples: { at: number; kb: number[] }[], i: number, from = 0, to = Infinity): number {
  return samples.filter((s) => s.at >= from && s.at < to).reduce((m, s) => Math.max(m, s.kb[i] ?? 0), 0);
}

/** A free loopback port (for the SSH side's app). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Polls the health check every 100 ms (the spec's interval) for at most `limitMs`. */
async function untilHealthy(port: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await healthy(port))) {
    if (Date.now() > deadline) throw new Error(`the SSH side's app never answered on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface DeployBenchOptions {
  /** A running Bun agent in the tenant's cluster: the target of the deploys. */
  agent: TestAgent;
  /** OUTPOST_URL and OUTPOST_TOKEN for the CLI. */
  env: Record<string, string>;
  sshd: Sshd;
}

/** This process's own workerd (Miniflare's child), not another one on the machine. */
function ownWorkerd(): number | undefined {
  try {
    const out = execFileSync("pgrep", ["-P", String(process.pid), "-f", "workerd serve"], {
      encoding: "utf8",
    });
    return Number(out.trim().split("\n")[0]) || undefined;
  } catch {
    return undefined;
  }
}

/** Runs the CLI, noting when each line of its stdout came (ms from the start). */
function runCliTimed(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string; lines: { at: number; text: string }[] }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const lines: { at: number; text: string }[] = [];
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      for (const text of d.split("\n").filter(Boolean)) lines.push({ at: performance.now() - t0, text });
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, lines }));
  });
}

export async function deployBench(o: DeployBenchOptions): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-deploy-bench-"));
  try {
    return await _bench(o, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function _bench(o: DeployBenchOptions, dir: string): Promise<Row[]> {
  const small = join(dir, "app-100mb.tar.gz");
  await makeArtifact(small, 100 * MB);
  const spec = join(dir, "outpost.toml");
  writeFileSync(spec, SPEC);
  const env = { ...o.env, OUTPOST_DEPLOY_WAIT_MS: String(30 * 60_000), OUTPOST_TRACE: "1" };
  /** Outpost's way: `outpost deploy` until the release is live (healthy); its phases on the side. */
  const phases: string[] = [];
  /** When the last deploy's CLI had created the deployment (its upload done), ms after its start. */
  let createdAt = 0;
  const outpost = async (file: string) => {
    const logFrom = o.agent.process.output().length;
    const t0 = performance.now();
    const res = await runCliTimed(["deploy", "bench", file, "--spec", spec, "--to", o.agent.ref], env);
    const total = performance.now() - t0;
    if (res.code !== 0 || !/is live/.test(res.stdout))
      throw new Error(`deploy failed: ${res.stderr}${res.stdout}`);
    const agentLine = /release \d+ live; phases: (.*)/.exec(o.agent.process.output().slice(logFrom))?.[1];
    createdAt = Number(/^trace: (\d+) ms deployment created$/m.exec(res.stderr)?.[1] ?? 0);
    const cli = [...res.stderr.matchAll(/^trace: (\d+ ms [^\n]*)$/gm)].map((m) => m[1]).join("; ");
    phases.push(
      `${(statSync(file).size / MB).toFixed(0)} MB deploy ${total.toFixed(0)} ms. CLI (since its start): ${cli}. ` +
        `Agent: ${agentLine ?? "?"}`,
    );
    return total;
  };
  /** The SSH way: scp the same file, ssh to unpack and start it, poll the same health check. */
  let sshPid: number | undefined;
  const ssh = async () => {
    const target = join(dir, "ssh");
    mkdirSync(target, { recursive: true });
    const port = await freePort();
    const opts = o.sshd.clientOptions;
    const t0 = performance.now();
    await run("scp", [
      ...opts,
      "-P",
      String(o.sshd.port),
      small,
      `${o.sshd.user}@127.0.0.1:${target}/app.tar.gz`,
    ]);
    const { stdout } = await run("ssh", [
      ...opts,
      "-p",
      String(o.sshd.port),
      `${o.sshd.user}@127.0.0.1`,
      `mkdir -p ${target}/release && tar xzf ${target}/app.tar.gz -C ${target}/release && cd ${target}/release && ` +
        `(PORT=${port} setsid nohup ${BUN} server.mjs >app.log 2>&1 </dev/null & echo $!)`,
    ]);
    sshPid = Number(stdout.trim()) || undefined;
    await untilHealthy(port, 120_000);
    return performance.now() - t0;
  };
  const workerd = ownWorkerd();
  const agentPid = o.agent.process.child.pid;
  const pids = () => [workerd, agentPid];
  try {
    // The large artifact first, while workerd and the agent have not yet moved any other: their RSS
    // at its start is the baseline, not a heap already grown by the 100 MB deploys.
    const big = join(dir, "image-1gib.tar.gz");
    await makeArtifact(big, BIG_BYTES);
    const large = await sampleRss(pids, () => outpost(big));
    rmSync(big, { force: true });
    const [workerdStart = 0, agentStart = 0] = large.starts;
    const workerdPeak = peakOf(large.samples, 0);
    const agentPeak = peakOf(large.samples, 1);
    console.error(
      `deploy bench: ${BIG_BYTES >> 20} MiB deployed in ${(large.result / 1000).toFixed(1)} s; workerd RSS start ${mib(workerdStart)}, ` +
        `peak during the upload ${mib(peakOf(large.samples, 0, 0, createdAt))}, during the agent's fetch ${mib(peakOf(large.samples, 0, createdAt))}; ` +
        `agent start ${mib(agentStart)}, peak ${mib(agentPeak)}`,
    );
    const firstMs = await outpost(small);
    console.error(`deploy bench: 100 MB deployed (live) in ${firstMs.toFixed(0)} ms`);
    const sshMs = await ssh();
    const secondMs = await outpost(small);
    console.error(`deploy bench: ssh ${sshMs.toFixed(0)} ms, second deploy ${secondMs.toFixed(0)} ms`);
    for (const line of phases) console.error(`deploy bench phases: ${line}`);
    const bytes = statSync(small).size;
    return [
      {
        what: `outpost deploy ${(bytes / MB).toFixed(0)} MB app until healthy vs scp + ssh 'tar xzf && start'`,
        value: ms(firstMs),
        baseline: ms(sshMs),
        ratio: `${(firstMs / sshMs).toFixed(2)}x`,
        target: "<= 1.0x",
        met: firstMs <= sshMs,
      },
      {
        what: "second deploy, unchanged artifact (nothing uploaded) vs first",
        value: ms(secondMs),
        baseline: ms(firstMs),
        ratio: `${(secondMs / firstMs).toFixed(2)}x`,
        target: "<= 0.2x",
        met: secondMs <= 0.2 * firstMs,
      },
      {
        what: `workerd RSS deploying ${BIG_BYTES >> 20} MiB: peak minus start (took ${(large.result / 1000).toFixed(1)} s)`,
        value: mib(workerdPeak - workerdStart),
        baseline: mib(workerdStart),
        ratio: `+${(((workerdPeak - workerdStart) / Math.max(1, workerdStart)) * 100).toFixed(0)}%`,
        target: "flat (<= +64 MiB)",
        met: workerdPeak - workerdStart <= 64 * 1024,
      },
      {
        what: `agent (bun) RSS deploying ${BIG_BYTES >> 20} MiB: peak minus start`,
        value: mib(agentPeak - agentStart),
        baseline: mib(agentStart),
        ratio: `+${(((agentPeak - agentStart) / Math.max(1, agentStart)) * 100).toFixed(0)}%`,
        target: "flat (<= +64 MiB)",
        met: agentPeak - agentStart <= 64 * 1024,
      },
    ];
  } finally {
    if (sshPid) {
      try {
        process.kill(-sshPid, "SIGKILL");
      } catch {}
    }
    // The app outlives its agent on purpose (README "Apps"): remove it through the agent (which
    // also stops a release still draining), then stop whatever is left by its recorded pid.
    await runCli(["app", "rm", "bench", "--host", o.agent.ref], o.env).catch(() => {});
    try {
      const state = JSON.parse(readFileSync(join(o.agent.stateDir, "apps/bench/state.json"), "utf8"));
      if (state.live?.pid) process.kill(-state.live.pid, "SIGKILL");
    } catch {}
  }
}
