// Agent processes for the agent's own tests (Node side): run a file under Bun or Deno, the way a host
// would, with its output captured. The bundle under test is built once per test file into a temp dir,
// so these tests never race anyone else's build of dist/agent.js.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleAgent } from "../../scripts/build.ts";

export type AgentRuntime = "bun" | "deno";
export const RUNTIMES: AgentRuntime[] = ["bun", "deno"];

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Builds agent/main.ts into a fresh temp file with scripts/build.ts's bundleAgent, and returns its
 * path. Not through buildAgent(): that also rewrites worker/generated/agent-bundle.ts,
 * which a Worker build running in parallel may be reading.
 */
export async function buildTestBundle(): Promise<string> {
  return bundleAgent(join(mkdtempSync(join(tmpdir(), "outpost-agent-bundle-")), "agent.js"));
}

/** The command line that runs `file` (TypeScript or the bundle) under `runtime`. */
function command(runtime: AgentRuntime, file: string, args: readonly string[] = []): [string, string[]] {
  const bin = join(ROOT, "node_modules/.bin", runtime);
  return runtime === "bun" ? [bin, [file, ...args]] : [bin, ["run", "-A", "--no-lock", file, ...args]];
}

export interface Proc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Resolves once `pattern` shows up on stdout or stderr; rejects on exit or after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** Sends `signal` (SIGKILL after `ms`) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number | null>;
}

export function start(
  runtime: AgentRuntime,
  file: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Proc {
  const [bin, argv] = command(runtime, file, args);
  const child = spawn(bin, argv, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let done = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    notify();
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
    notify();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      done = true;
      resolve(code);
      notify();
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${pattern} within ${ms} ms; output:\n${out}${err}`));
        }, ms);
        const check = () => {
          if (pattern.test(out) || pattern.test(err)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (done) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`exited before ${pattern}; output:\n${out}${err}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM", ms = 10_000) {
      if (!done) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs to the end and returns the exit code and output. */
export async function run(
  runtime: AgentRuntime,
  file: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = start(runtime, file, args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Runs a check script (test/agent-harness/*-check.ts) and parses the one JSON report it prints. */
export async function report<T = Record<string, unknown>>(
  runtime: AgentRuntime,
  script: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<T> {
  const r = await run(runtime, join(ROOT, "test/agent-harness", script), args, env);
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${script} on ${runtime} exited ${r.code} without a report:\n${r.stdout}\n${r.stderr}`);
  }
}
