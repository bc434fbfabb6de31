// Keystroke echo through `outpost shell` against `ssh -tt` through `outpost proxy` to the same host
// (a real sshd on loopback), in the same run. Each client runs on a real pseudo-terminal (util-linux
// `script`), as a person's terminal would; one key is typed, and the time until the remote shell's
// echo of it comes back is one sample. The two alternate, ROUNDS rounds of ECHO_KEYS / ROUNDS keys
// each, so that a change in the machine's load (two cores shared with other work) falls on both alike
// rather than on whichever ran second. Bounded: ECHO_KEYS keys each, each within KEY_TIMEOUT_MS.
import { type ChildProcess, spawn } from "node:child_process";
import type { TestAgent } from "../../test/harness/agent.ts";
import { CLI_BIN } from "../../test/harness/cli.ts";
import type { Sshd } from "../../test/harness/sshd.ts";
import { ms, percentile, type Row } from "./table.ts";

const ECHO_KEYS = 200;
const ROUNDS = 4;
const KEY_TIMEOUT_MS = 5000;
const READY_TIMEOUT_MS = 20_000;

/** POSIX sh quoting, for script's one command string (every value here is the bench's own). */
const quote = (argv: string[]) => argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");

class Terminal {
  readonly #child: ChildProcess;
  #out = "";
  #wake: (() => void) | undefined;

  constructor(argv: string[], env: NodeJS.ProcessEnv) {
    this.#child = spawn("script", ["-qfec", quote(argv), "/dev/null"], {
      env: { ...env, TERM: "xterm" },
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.#child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      this.#out += d;
      this.#wake?.();
    });
  }

  get text(): string {
    return this.#out;
  }

  type(text: string): void {
    this.#child.stdin!.write(text);
  }

  count(ch: string): number {
    let n = 0;
    for (const c of this.#out) if (c === ch) n++;
    return n;
  }

  /** Waits until `done()` holds, at most `timeoutMs`. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`pty bench: ${what} did not happen within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async close(): Promise<void> {
    this.type("\u0015exit\n");
    const exited = new Promise((r) => this.#child.once("exit", r));
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Echo times of `keys` keys typed one at a time into the shell `argv` starts. */
export async function echoTimes(argv: string[], env: NodeJS.ProcessEnv, keys = ECHO_KEYS): Promise<number[]> {
  const t = new Terminal(argv, env);
  try {
    t.type("echo READY-$((20+22))\n");
    await t.until(() => /READY-42/.test(t.text), READY_TIMEOUT_MS, "the shell's prompt");
    const times: number[] = [];
    for (let i = 0; i < keys; i++) {
      const before = t.count("x");
      const start = performance.now();
      t.type("x");
      await t.until(() => t.count("x") > before, KEY_TIMEOUT_MS, "a key's echo");
      times.push(performance.now() - start);
    }
    return times;
  } finally {
    await t.close();
  }
}

export async function ptyBench(opts: {
  agent: TestAgent;
  sshd: Sshd;
  env: NodeJS.ProcessEnv;
}): Promise<Row[]> {
  const { agent, sshd, env } = opts;
  const sshArgv = [
    "ssh",
    "-tt",
    ...sshd.clientOptions,
    ...["-o", `ProxyCommand=${process.execPath} ${CLI_BIN} proxy %h ssh`, "-o", `HostKeyAlias=${agent.ref}`],
    `${sshd.user}@${agent.ref}`,
  ];
  const shell: number[] = [];
  const ssh: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    shell.push(
      ...(await echoTimes([process.execPath, CLI_BIN, "shell", agent.ref], env, ECHO_KEYS / ROUNDS)),
    );
    ssh.push(...(await echoTimes(sshArgv, env, ECHO_KEYS / ROUNDS)));
  }
  const p50 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const ratio = p50(shell) / p50(ssh);
  return [
    {
      what: `keystroke echo through outpost shell p50 (${ECHO_KEYS} keys)`,
      value: ms(p50(shell)),
      baseline: `${ms(p50(ssh))} ssh -tt via proxy`,
      ratio: `${ratio.toFixed(2)}x`,
      target: "≤ 1.0x",
      met: ratio <= 1.0,
    },
  ];
}
