// `outpost shell` and `outpost exec -t` as a person uses them: the real CLI process on a real
// pseudo-terminal (test/harness/pty-driver.py, Python's pty module), against a real control plane and
// real agents on Bun and Deno. The local terminal is raw while the session runs (keys go to the host,
// Ctrl-C too), the window size goes at the start and on SIGWINCH, the remote exit code comes back, and
// the terminal is as it was afterwards.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN } from "./harness/cli.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const DRIVER = fileURLToPath(new URL("./harness/pty-driver.py", import.meta.url));

let stack: Stack;
let token: string;
const agents: TestAgent[] = [];

interface Driven {
  exit: number | null;
  output: string;
  modes: Record<string, boolean>;
  restored: boolean;
  error?: string;
}

type Step =
  | { write: string }
  | { expect: string; timeout?: number }
  | { resize: [number, number] }
  | { sleep: number }
  | { mode: string };

function drive(args: string[], steps: Step[]): Promise<Driven> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "python3",
      [DRIVER, JSON.stringify(steps), "--", process.execPath, CLI_BIN, ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TERM: "xterm-256color",
          OUTPOST_URL: stack.url,
          OUTPOST_TOKEN: token,
          XDG_CONFIG_HOME: stack.dir,
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve(JSON.parse(out) as Driven);
      } catch {
        reject(new Error(`pty-driver printed no result: ${out}`));
      }
    });
  });
}

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("pty-cli");
  token = t.token;
  for (const runtime of RUNTIMES) {
    agents.push(
      await startAgent(t.client, {
        runtime,
        cluster: "prod",
        site: "fra1",
        url: stack.url,
        name: `tty-${runtime}`,
      }),
    );
  }
});
afterAll(async () => {
  for (const a of agents) await a.stop();
  await stack?.close();
});

describe.each(RUNTIMES)("outpost shell on a terminal, agent on %s", (runtime) => {
  const ref = () => `tty-${runtime}.prod`;

  it("goes raw, sends the window size and its changes, passes Ctrl-C, returns the exit code, restores", async () => {
    const r = await drive(
      ["shell", ref()],
      [
        { write: "stty size; echo marker-$((6*7))\n" },
        { expect: "marker-42" },
        { mode: "during" },
        { expect: "30 100" },
        { resize: [120, 40] },
        { sleep: 0.5 },
        { write: "stty size\n" },
        { expect: "40 120" },
        { write: "sleep 30; echo slept-$?\n" },
        { sleep: 0.5 },
        { write: "\u0003" },
        { write: "echo back-$((1+1))\n" },
        { expect: "back-2" },
        { write: "exit 5\n" },
      ],
    );
    expect(r.error).toBeUndefined();
    expect(r.modes.during).toBe(true);
    expect(r.output).not.toMatch(/slept-0/);
    expect(r.exit).toBe(5);
    expect(r.restored).toBe(true);
  });

  it("exec -t runs argv on a terminal and returns its exit code", async () => {
    const r = await drive(["exec", "-t", ref(), "--", "sh", "-c", "tty; exit 9"], []);
    expect(r.error).toBeUndefined();
    expect(r.output).toMatch(/\/dev\/pts\/\d+/);
    expect(r.exit).toBe(9);
    expect(r.restored).toBe(true);
  });
});
