// The agent's idle memory under Bun and Deno against a bare WebSocket client in the same runtime: a
// script that only holds one open WebSocket to a loopback server. Run alone, it prints only these rows
// against a stack of its own: `node --import tsx scripts/bench/rss-bench.ts [rounds]`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { WebSocketServer } from "ws";
import type { Outpost } from "../../sdk/index.ts";
import { type AgentRuntime, agentCommand, startAgent } from "../../test/harness/agent.ts";
import { start } from "../../test/harness/process.ts";
import { startStack } from "../../test/harness/stack.ts";
import { buildWorker } from "../build.ts";
import { mib, type Row } from "./table.ts";

const SETTLE_MS = 3000;

/** Resident set size of a process, in KiB, from /proc. */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

async function bareClientRss(runtime: AgentRuntime, url: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-bare-"));
  const script = join(dir, "bare.js");
  writeFileSync(
    script,
    `const ws = new WebSocket(${JSON.stringify(url)}); ws.onopen = () => console.log("open"); setInterval(() => {}, 1 << 30);\n`,
  );
  const [cmd, pre] = agentCommand(runtime);
  const proc = start(cmd, [...pre.filter((a) => !a.endsWith("agent.js")), script]);
  try {
    await proc.waitFor(/open/, 15_000);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return rssKb(proc.child.pid!);
  } finally {
    await proc.stop();
  }
}

export async function rssBench(client: Outpost, url: string): Promise<Row[]> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  const wsUrl = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  const rows: Row[] = [];
  try {
    for (const runtime of ["bun", "deno"] as const) {
      const agent = await startAgent(client, {
        runtime,
        name: `rss-${runtime}`,
        cluster: "bench",
        site: "local",
        url,
      });
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const agentKb = rssKb(agent.process.child.pid!);
      await agent.stop();
      const bareKb = await bareClientRss(runtime, wsUrl);
      const ratio = agentKb / bareKb;
      rows.push({
        what: `agent idle RSS (${runtime})`,
        value: mib(agentKb),
        baseline: `${mib(bareKb)} bare WebSocket client`,
        ratio: `${ratio.toFixed(2)}x`,
        target: "≤ 1.5x",
        met: ratio <= 1.5,
      });
    }
  } finally {
    wss.close();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const runDir = mkdtempSync(join(tmpdir(), "outpost-rss-"));
  process.env.TMPDIR = runDir;
  await buildWorker();
  const stack = await startStack();
  try {
    for (let i = 0; i < Number(process.argv[2] ?? 1); i++) {
      const { client } = await stack.tenant(`rss${i}`);
      await client.clusters.create("bench");
      await client.sites.create("bench", "local");
      for (const row of await rssBench(client, stack.url)) {
        console.log(`${row.what}: ${row.value} (${row.baseline}) ${row.ratio}`);
      }
    }
  } finally {
    await stack.close();
    rmSync(runDir, { recursive: true, force: true });
  }
  process.exit(0);
}
