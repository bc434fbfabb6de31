// Deploying an artifact to a host against the SSH way, in the same run: a 100 MB tar.gz uploaded once
// (parts, server-side sha256), fetched by a Bun agent process authenticated as its host, verified and
// unpacked atomically; against scp of the same file to a loopback sshd and `ssh host tar xzf`. Then the
// second deploy of the unchanged file (hash, ask, nothing to send), and the memory of workerd and of the
// fetching agent while a 1 GiB artifact streams through both, against the same with 100 MB: flat
// means the same peak whatever the size.
//
// Until the app deploy (outpost deploy: start, health gate) lands, both sides stop at "unpacked".
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { createGzip } from "node:zlib";
import { createTarPacker } from "modern-tar";
import { type Outpost, uploadArtifact } from "../../sdk/index.ts";
import { start } from "../../test/agent-harness/processes.ts";
import { grant } from "../../test/harness/artifacts.ts";
import type { Sshd } from "../../test/harness/sshd.ts";
import type { Stack } from "../../test/harness/stack.ts";
import { rssKb } from "./rss-bench.ts";
import { mib, ms, type Row } from "./table.ts";

const run = promisify(execFile);
const MB = 1_000_000;
const CHUNK = 4 * 1024 * 1024;
/** The large artifact: 1 GiB; OUTPOST_BENCH_BIG_MIB changes it (a loaded machine may need less). */
const BIG_BYTES = (Number(process.env.OUTPOST_BENCH_BIG_MIB) || 1024) * 1024 * 1024;

/** A tar.gz of one `bytes`-long random file, written as a stream (gzip level 1: random data does not shrink). */
async function makeArtifact(path: string, bytes: number): Promise<void> {
  const { readable, controller } = createTarPacker();
  const gzip = createGzip({ level: 1 });
  const out = gzip.pipe(createWriteStream(path));
  const closed = new Promise<void>((resolve, reject) => out.on("close", () => resolve()).on("error", reject));
  const piped = readable.pipeTo(Writable.toWeb(gzip) as WritableStream<Uint8Array>);
  const body = controller.add({ name: "payload.bin", type: "file", size: bytes, mode: 0o644 }).getWriter();
  for (let left = bytes; left > 0; left -= CHUNK) await body.write(randomBytes(Math.min(CHUNK, left)));
  await body.close();
  controller.finalize();
  await piped;
  await closed;
}

/** Peak RSS (KiB) of the processes `pids()` names while `work` runs, sampled every 50 ms. */
async function peakRss<T>(
  pids: () => (number | undefined)[],
  work: () => Promise<T>,
): Promise<{ result: T; peaks: number[] }> {
  const peaks: number[] = [];
  const sample = () =>
    pids().forEach((pid, i) => {
      if (pid === undefined) return;
      try {
        peaks[i] = Math.max(peaks[i] ?? 0, rssKb(pid));
      } catch {}
    });
  const timer = setInterval(sample, 50);
  try {
    return { result: await work(), peaks };
  } finally {
    clearInterval(timer);
    sample();
  }
}

export interface DeployBenchOptions {
  stack: Stack;
  tenantId: string;
  client: Outpost;
  /** A host enrolled for the tenant: its id and its agent's state dir (the fetch runs as it). */
  host: { hostId: string; stateDir: string };
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
  let agentPid: number | undefined;
  /** Outpost's way: upload, grant (as a deploy does), the agent fetches and unpacks. */
  const outpost = async (file: string, release: string) => {
    const t0 = performance.now();
    const uploaded = await uploadArtifact(o.client, file);
    await grant(o.stack.dbUrl, o.tenantId, o.host.hostId, uploaded.sha256);
    const destDir = join(dir, "outpost", release);
    const p = start(
      "bun",
      join(import.meta.dirname, "../../test/agent-harness/artifact-fetch-check.ts"),
      [],
      {
        OUTPOST_FETCH_CHECK: JSON.stringify({
          stateDir: o.host.stateDir,
          cases: [{ name: "fetch", sha256: uploaded.sha256, size: uploaded.size, destDir }],
        }),
      },
    );
    agentPid = p.child.pid;
    await p.exited;
    agentPid = undefined;
    const report = JSON.parse(p.stdout().trim().split("\n").at(-1) ?? "{}") as {
      fetch?: { ok: boolean; message?: string };
    };
    if (!report.fetch?.ok) throw new Error(`fetch failed: ${report.fetch?.message ?? p.stderr()}`);
    return { ms: performance.now() - t0, uploaded };
  };
  /** The SSH way: scp the same file, then ssh to unpack it. */
  const ssh = async () => {
    const t0 = performance.now();
    const target = join(dir, "ssh");
    mkdirSync(target, { recursive: true });
    const opts = o.sshd.clientOptions;
    await run("scp", [
      ...opts,
      "-P",
      String(o.sshd.port),
      small,
      `${o.sshd.user}@127.0.0.1:${target}/app.tar.gz`,
    ]);
    await run("ssh", [
      ...opts,
      "-p",
      String(o.sshd.port),
      `${o.sshd.user}@127.0.0.1`,
      `mkdir -p ${target}/release && tar xzf ${target}/app.tar.gz -C ${target}/release`,
    ]);
    return performance.now() - t0;
  };
  const pids = () => [ownWorkerd(), agentPid];
  const first = await peakRss(pids, () => outpost(small, "1"));
  console.error(`deploy bench: 100 MB deployed in ${first.result.ms.toFixed(0)} ms`);
  const sshMs = await ssh();
  const t0 = performance.now();
  const again = await uploadArtifact(o.client, small);
  const secondMs = performance.now() - t0;
  if (!again.existed) throw new Error("the second upload of an unchanged artifact sent bytes");

  const big = join(dir, "image-1gib.tar.gz");
  await makeArtifact(big, BIG_BYTES);
  console.error(
    `deploy bench: ssh ${sshMs.toFixed(0)} ms, second deploy ${secondMs.toFixed(0)} ms; now 1 GiB`,
  );
  const large = await peakRss(pids, () => outpost(big, "2"));
  rmSync(big, { force: true });
  const bytes = readFileSync(small).byteLength;
  const [workerdSmall = 0, agentSmall = 0] = first.peaks;
  const [workerdLarge = 0, agentLarge = 0] = large.peaks;
  return [
    {
      what: `deploy ${(bytes / MB).toFixed(0)} MB tar.gz: upload+fetch+unpack vs scp+ssh tar xzf`,
      value: ms(first.result.ms),
      baseline: ms(sshMs),
      ratio: `${(first.result.ms / sshMs).toFixed(2)}x`,
      target: "<= 1.0x",
      met: first.result.ms <= sshMs,
    },
    {
      what: "second deploy, unchanged artifact (nothing uploaded) vs first",
      value: ms(secondMs),
      baseline: ms(first.result.ms),
      ratio: `${(secondMs / first.result.ms).toFixed(2)}x`,
      target: "<= 0.2x",
      met: secondMs <= 0.2 * first.result.ms,
    },
    {
      what: `workerd peak RSS, ${BIG_BYTES >> 20} MiB artifact vs 100 MB`,
      value: mib(workerdLarge),
      baseline: mib(workerdSmall),
      ratio: `${(workerdLarge / workerdSmall).toFixed(2)}x`,
      target: "flat (<= 1.2x)",
      met: workerdLarge <= 1.2 * workerdSmall,
    },
    {
      what: `agent (bun) peak RSS fetching ${BIG_BYTES >> 20} MiB vs 100 MB (took ${(large.result.ms / 1000).toFixed(1)} s)`,
      value: mib(agentLarge),
      baseline: mib(agentSmall),
      ratio: `${(agentLarge / agentSmall).toFixed(2)}x`,
      target: "flat (<= 1.2x)",
      met: agentLarge <= 1.2 * agentSmall,
    },
  ];
}

/** The bench's host: enrolled with the Bun agent (no `run`: fetching needs only its identity). */
export async function enrollBenchHost(client: Outpost, url: string, cluster: string, site: string) {
  const { token } = await client.tokens.create({ cluster, site });
  const stateDir = mkdtempSync(join(tmpdir(), "outpost-bench-host-"));
  const bun = join(import.meta.dirname, "../../node_modules/.bin/bun");
  const agent = join(import.meta.dirname, "../../dist/agent.js");
  // Not execFileSync: the libSQL server runs in this process and must keep answering.
  await run(bun, [
    agent,
    "enroll",
    "--url",
    url,
    "--token",
    token,
    "--name",
    "deploy",
    "--state-dir",
    stateDir,
  ]);
  const host = (await client.hosts.get(`deploy.${cluster}`)).host;
  return { hostId: host.id, stateDir };
}
