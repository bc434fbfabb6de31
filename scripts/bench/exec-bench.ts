// Exec through the local stack (SDK → Worker → HostDO → Bun agent → process) against the same work
// done locally by this process: the round trip of `true`, and 200 MB of stdout.
import { spawn } from "node:child_process";
import type { Outpost } from "../../sdk/index.ts";
import type { TestAgent } from "../../test/harness/agent.ts";
import { mbps, ms, percentile, type Row } from "./table.ts";

const RUNS = 200;
const BULK_BYTES = 200_000_000;
const BULK = ["head", "-c", String(BULK_BYTES), "/dev/zero"];

function localRun(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
    let bytes = 0;
    child.stdout.on("data", (d: Buffer) => (bytes += d.length));
    child.on("error", reject);
    child.on("close", () => resolve(bytes));
  });
}

async function remoteRun(client: Outpost, host: string, argv: string[]): Promise<number> {
  const s = client.execStream(host, argv);
  await s.stdin.close();
  let bytes = 0;
  const drain = async (r: ReadableStream<Uint8Array>) => {
    for await (const c of r as unknown as AsyncIterable<Uint8Array>) bytes += c.length;
  };
  await Promise.all([drain(s.stdout), drain(s.stderr), s.exited]);
  return bytes;
}

async function timeEach(n: number, run: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

export async function execBench(client: Outpost, agent: TestAgent, sampleRss: () => number): Promise<Row[]> {
  for (let i = 0; i < 20; i++) await remoteRun(client, agent.ref, ["true"]); // warm up both ends
  const local = await timeEach(RUNS, () => localRun(["true"]));
  const remote = await timeEach(RUNS, () => remoteRun(client, agent.ref, ["true"]));
  const overhead50 = percentile(remote, 50) - percentile(local, 50);

  let t = performance.now();
  const localBytes = await localRun(BULK);
  const localSecs = (performance.now() - t) / 1000;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, sampleRss());
  }, 50);
  t = performance.now();
  const remoteBytes = await remoteRun(client, agent.ref, BULK);
  const remoteSecs = (performance.now() - t) / 1000;
  clearInterval(sampler);
  if (remoteBytes !== BULK_BYTES || localBytes !== BULK_BYTES)
    throw new Error(`bulk exec moved ${remoteBytes} bytes`);
  const remoteRate = remoteBytes / 1e6 / remoteSecs;

  return [
    {
      what: `exec \`true\` round trip p50 (${RUNS} runs)`,
      value: ms(percentile(remote, 50)),
      baseline: `${ms(percentile(local, 50))} local spawn`,
      ratio: `+${ms(overhead50)}`,
      target: "≤ +5 ms",
      met: overhead50 <= 5,
    },
    {
      what: "exec `true` round trip p99",
      value: ms(percentile(remote, 99)),
      baseline: `${ms(percentile(local, 99))} local spawn`,
      ratio: `+${ms(percentile(remote, 99) - percentile(local, 99))}`,
      target: "-",
      met: null,
    },
    {
      what: "exec stdout, 200 MB",
      value: mbps(remoteBytes, remoteSecs),
      baseline: `${mbps(localBytes, localSecs)} local pipe`,
      ratio: `${(remoteRate / (localBytes / 1e6 / localSecs)).toFixed(2)}x`,
      target: "≥ 100 MB/s",
      met: remoteRate >= 100,
    },
    {
      what: "agent RSS peak during the 200 MB exec",
      value: `${(peakRss / 1024).toFixed(1)} MiB`,
      baseline: "-",
      ratio: "-",
      target: "bounded",
      met: null,
    },
  ];
}
