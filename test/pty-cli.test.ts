// `outpost shell` and `outpost exec -t` as a person uses them: the real CLI process on a real
// pseudo-terminal (test/harness/pty-driver.py, Python's pty module), against a real control plane and
// real agents on Bun and Deno. The local terminal is raw while the session runs (keys go to the host,
// Ctrl-C too), the window size goes at the start and on SIGWINCH, the remote exit code comes back, and
// the terminal is as it was afterwards.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_STREAM_CREDIT } from "../schema/protocol/limits.ts";
import { RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN, runCli } from "./harness/cli.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const DRIVER = fileURLToPath(new URL("./harness/pty-driver.py", import.meta.url));

let stack: Stack;
let token: string;
let viewerToken: string;
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
  viewerToken = (await t.client.keys.create({ role: "viewer", name: "cli-viewer" })).token;
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

  it("takes a paste far bigger than the input queue and the stream's credit, losing and reordering nothing", async () => {
    // Lines, so the remote terminal's canonical mode passes them through unchanged (it caps a line at
    // 4 KiB). The CLI reads its stdin (a pipe here) in 64 KiB pieces: it must pause on its full queue
    // and resume as the host's credit comes back, never drop, and never overrun the credit (which the
    // control plane would refuse by closing the stream).
    const lines = Array.from(
      { length: 84_000 },
      (_, i) => `${String(i).padStart(6, "0")}:${"x".repeat(57)}\n`,
    );
    const paste = lines.join("");
    const { createHash } = await import("node:crypto");
    const want = createHash("sha256").update(paste).digest("hex");
    const r = await runCli(
      [
        "exec",
        "-t",
        ref(),
        "--",
        "sh",
        "-c",
        `stty -echo; head -c ${paste.length} | sha256sum | sed 's/^/sum=/'`,
      ],
      { OUTPOST_URL: stack.url, OUTPOST_TOKEN: token, XDG_CONFIG_HOME: stack.dir },
      paste,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(paste.length).toBeGreaterThan(DEFAULT_STREAM_CREDIT);
    expect(r.stdout).toContain(`sum=${want}`);
  }, 60_000);

  it("exec -t runs argv on a terminal and returns its exit code", async () => {
    const r = await drive(["exec", "-t", ref(), "--", "sh", "-c", "tty; exit 9"], []);
    expect(r.error).toBeUndefined();
    expect(r.output).toMatch(/\/dev\/pts\/\d+/);
    expect(r.exit).toBe(9);
    expect(r.restored).toBe(true);
  });
});

describe("the terminal commands' usage, and the recording switch", () => {
  const env = () => ({ OUTPOST_URL: stack.url, OUTPOST_TOKEN: token, XDG_CONFIG_HOME: stack.dir });

  it("has --help, and exits 2 on usage errors", async () => {
    for (const args of [
      ["shell", "--help"],
      ["recording", "--help"],
      ["sessions", "play", "--help"],
    ]) {
      const r = await runCli(args, env());
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout, args.join(" ")).toMatch(/^usage: outpost /);
    }
    for (const args of [
      ["shell"],
      ["shell", "tty-bun.prod", "extra"],
      ["exec", "-t", "tty-bun.prod"],
      ["sessions", "play"],
      ["sessions", "play", "ses_x", "--speed", "0"],
      ["recording", "sideways"],
    ]) {
      expect((await runCli(args, env())).code, args.join(" ")).toBe(2);
    }
  });

  it("switches recording off and on (admin), refuses a viewer (exit 1), and prints --json", async () => {
    const off = await runCli(["recording", "off"], env());
    expect(off.code).toBe(0);
    expect(off.stdout).toContain("session recording is off");
    const status = await runCli(["recording", "--json"], env());
    expect(JSON.parse(status.stdout)).toEqual({ recording: false });
    const on = await runCli(["recording", "on", "--json"], env());
    expect(JSON.parse(on.stdout)).toEqual({ recording: true });
    const refused = await runCli(["recording", "off"], { ...env(), OUTPOST_TOKEN: viewerToken });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/admin/);
    const shell = await runCli(["exec", "-t", "tty-bun.prod", "--", "true"], {
      ...env(),
      OUTPOST_TOKEN: viewerToken,
    });
    expect(shell.code).toBe(255); // could not run at all (refused), as ssh says it
  });
});
