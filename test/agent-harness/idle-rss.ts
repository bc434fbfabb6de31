// The agent's idle memory, quickly: a bundle connected to the fake control plane (handshake done, one
// config applied, heartbeats running) against a bare WebSocket client in the same runtime, as
// scripts/bench/rss-bench.ts measures it against the real stack, with /proc/<pid>/smaps_rollup split
// into anonymous pages (heap, JIT) and file-backed ones (the runtime's own code).
//
//   node --import tsx test/agent-harness/idle-rss.ts [bundle.js] [rounds]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { WebSocketServer } from "ws";
import { FakeControlPlane } from "./fake-control-plane.ts";
import { type AgentRuntime, buildTestBundle, RUNTIMES, start } from "./processes.ts";

const SETTLE_MS = 3000;

export interface Memory {
  rss: number;
  anon: number;
  file: number;
}

/** Resident memory of `pid` in KiB: all of it, anonymous pages, and file-backed ones. */
export function memoryKb(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  const rss = field("Rss");
  const anon = field("Anonymous");
  return { rss, anon, file: rss - anon };
}

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

export async function agentIdle(runtime: AgentRuntime, bundle: string): Promise<Memory> {
  const cp = await FakeControlPlane.start();
  const agent = start(runtime, bundle, ["run", "--state-dir", cp.stateDir()]);
  try {
    const link = await cp.nextLink();
    await link.handshake({ heartbeat: 1000 });
    await link.send({ t: "config", config: { services: [], listeners: [] } });
    await agent.waitFor(/connected to/);
    await settle();
    return memoryKb(agent.child.pid!);
  } finally {
    await agent.stop("SIGKILL");
    await cp.close();
  }
}

export async function bareIdle(runtime: AgentRuntime, dir: string): Promise<Memory> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  const script = join(dir, "bare.js");
  writeFileSync(
    script,
    `const ws = new WebSocket(${JSON.stringify(url)}); ws.onopen = () => console.log("open"); setInterval(() => {}, 1 << 30);\n`,
  );
  const bare = start(runtime, script);
  try {
    await bare.waitFor(/open/, 15_000);
    await settle();
    return memoryKb(bare.child.pid!);
  } finally {
    await bare.stop("SIGKILL");
    wss.close();
  }
}

const mib = (kb: number) => (kb / 1024).toFixed(1);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const bundle = process.argv[2] ?? (await buildTestBundle());
  const rounds = Number(process.argv[3] ?? 1);
  const dir = join(bundle, "..");
  for (const runtime of RUNTIMES) {
    for (let i = 0; i < rounds; i++) {
      const agent = await agentIdle(runtime, bundle);
      const bare = await bareIdle(runtime, dir);
      console.log(
        `${runtime}: agent ${mib(agent.rss)} MiB (anon ${mib(agent.anon)}, file ${mib(agent.file)}) / ` +
          `bare ${mib(bare.rss)} MiB (anon ${mib(bare.anon)}, file ${mib(bare.file)}) = ` +
          `${(agent.rss / bare.rss).toFixed(2)}x`,
      );
    }
  }
}
