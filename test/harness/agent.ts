// Real agents for tests: dist/agent.js enrolled with a real token and run under Bun or Deno.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Outpost } from "../../sdk/index.ts";
import { type Running, start } from "./process.ts";

export type AgentRuntime = "bun" | "deno";
export const RUNTIMES: AgentRuntime[] = ["bun", "deno"];

const root = fileURLToPath(new URL("../..", import.meta.url));
export const AGENT_JS = join(root, "dist/agent.js");

/** The command line that runs the agent bundle under `runtime`. */
export function agentCommand(runtime: AgentRuntime): [string, string[]] {
  const bin = join(root, "node_modules/.bin", runtime);
  // Runtime flags for every agent tests and benches start, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = process.env.OUTPOST_TEST_AGENT_FLAGS?.split(" ").filter(Boolean) ?? [];
  return runtime === "bun" ? [bin, [...extra, AGENT_JS]] : [bin, ["run", "-A", ...extra, AGENT_JS]];
}

export function runAgent(runtime: AgentRuntime, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const [cmd, pre] = agentCommand(runtime);
  return start(cmd, [...pre, ...args], { env: { ...process.env, ...env } });
}

export interface TestAgent {
  runtime: AgentRuntime;
  /** `<name>.<cluster>` */
  ref: string;
  hostId: string;
  stateDir: string;
  process: Running;
  stop(): Promise<void>;
  /** Stops the agent and runs it again with the same identity and flags. */
  restart(): Promise<void>;
}

/** Waits until `check` passes (polling), or throws what it last threw. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

/** Creates a token, enrolls a new host with it and runs its agent until it is online. */
export async function startAgent(
  client: Outpost,
  opts: {
    runtime: AgentRuntime;
    name: string;
    cluster: string;
    site: string;
    url: string;
    labels?: string;
    /** Extra flags for `run`: --service, --allow-net, --allow-loopback. */
    runArgs?: string[];
  },
): Promise<TestAgent> {
  const { token } = await client.tokens.create({ cluster: opts.cluster, site: opts.site });
  const stateDir = mkdtempSync(join(tmpdir(), `outpost-agent-${opts.name}-`));
  const enroll = runAgent(opts.runtime, [
    "enroll",
    "--url",
    opts.url,
    "--token",
    token,
    "--name",
    opts.name,
    "--state-dir",
    stateDir,
    ...(opts.labels ? ["--labels", opts.labels] : []),
  ]);
  const code = await enroll.exited;
  if (code !== 0) throw new Error(`enroll failed (${code}): ${enroll.output()}`);
  const ref = `${opts.name}.${opts.cluster}`;
  const proc = runAgent(opts.runtime, ["run", "--state-dir", stateDir, ...(opts.runArgs ?? [])]);
  const host = await eventually(async () => {
    const h = (await client.hosts.get(ref)).host;
    if (h.status !== "online") throw new Error(`${ref} is ${h.status}; agent output:\n${proc.output()}`);
    return h;
  });
  const agent: TestAgent = {
    runtime: opts.runtime,
    ref,
    hostId: host.id,
    stateDir,
    process: proc,
    async stop() {
      await agent.process.stop("SIGTERM");
    },
    async restart() {
      await agent.process.stop("SIGTERM");
      agent.process = runAgent(opts.runtime, ["run", "--state-dir", stateDir, ...(opts.runArgs ?? [])]);
    },
  };
  return agent;
}
