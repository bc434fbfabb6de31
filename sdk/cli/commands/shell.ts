import { once } from "node:events";
import { constants } from "node:os";
import type { PtyStream } from "../../streams/pty.ts";
import { type Command, type Context, parse } from "../command.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost shell <host>.<cluster> [--cwd DIR] [--env K=V]…
       outpost exec -t <host>.<cluster> [--cwd DIR] [--env K=V]… -- <argv…>

A terminal on the host: its agent user's login shell (or argv, with exec -t) on a pseudo-terminal.
Your terminal is put in raw mode, so every key goes to the host: Ctrl-C and Ctrl-Z reach the remote
program, not this command. The window size is sent at the start and whenever it changes. This command
exits with the remote exit code (128+n when signal n ended it), and your terminal is restored however
it ends. Needs the operator role; the host's exec policy applies (a shell is an exec of the shell).
The session is recorded when the tenant records sessions ('outpost recording'); 'outpost sessions
play <id>' replays it.`;

const options = {
  cwd: { type: "string" },
  env: { type: "string", multiple: true },
} as const;

function size(): { cols: number; rows: number } {
  const out = process.stdout;
  return { cols: out.isTTY && out.columns ? out.columns : 80, rows: out.isTTY && out.rows ? out.rows : 24 };
}

function parseEnv(pairs: string[] | undefined, usage: string): Record<string, string> | undefined {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--env '${pair}' is not K=V`, usage);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return Object.keys(env).length ? env : undefined;
}

/** Runs a terminal session for the CLI: `argv` empty means the login shell. */
export async function runPty(
  ctx: Context,
  host: string,
  argv: string[],
  flags: { cwd?: string; env?: string[] },
): Promise<number> {
  const env = parseEnv(flags.env, help);
  const { stdin, stdout } = process;
  const stream: PtyStream = ctx.client().ptyStream(host, {
    ...size(),
    ...(argv.length ? { argv } : {}),
    ...(flags.cwd ? { cwd: flags.cwd } : {}),
    ...(env ? { env } : {}),
    ...(process.env.TERM && /^[A-Za-z0-9._+-]{1,64}$/.test(process.env.TERM)
      ? { term: process.env.TERM }
      : {}),
  });
  const raw = stdin.isTTY === true;
  const onResize = () => {
    const { cols, rows } = size();
    stream.resize(cols, rows);
  };
  const writer = stream.input.getWriter();
  // A key is written at once; only a paste bigger than the input's queue pauses reading until the
  // host's credit lets it through (pausing and resuming a terminal per key cost two syscalls and a turn).
  const onData = (chunk: Buffer) => {
    writer.write(new Uint8Array(chunk)).catch(() => {});
    if ((writer.desiredSize ?? 1) <= 0) {
      stdin.pause();
      writer.ready.then(
        () => stdin.resume(),
        () => {},
      );
    }
  };
  // Without a terminal (a pipe), signals still reach the remote program as the keys they stand for.
  const onSigint = () => void writer.write(new Uint8Array([3])).catch(() => {});
  const restore = () => {
    if (raw && stdin.isTTY) stdin.setRawMode(false);
  };
  process.on("exit", restore); // restored on any exit, a crash included
  try {
    if (raw) stdin.setRawMode(true);
    process.on("SIGWINCH", onResize);
    if (!raw) process.on("SIGINT", onSigint);
    stdin.on("data", onData);
    stdin.resume();
    const pump = (async () => {
      for await (const chunk of stream.output as unknown as AsyncIterable<Uint8Array>) {
        if (!stdout.write(chunk)) await once(stdout, "drain");
      }
    })();
    const [result] = await Promise.all([stream.exited, pump]);
    if (result.code !== null) return result.code;
    const n = result.signal ? constants.signals[result.signal as keyof typeof constants.signals] : undefined;
    return 128 + (n ?? 0);
  } finally {
    restore();
    process.off("exit", restore);
    process.off("SIGWINCH", onResize);
    process.off("SIGINT", onSigint);
    stdin.off("data", onData);
    stdin.pause();
    stdin.destroy();
  }
}

export const shell: Command = {
  name: "shell",
  summary: "an interactive shell on a host, on a pseudo-terminal",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, options, help);
    const [host, ...rest] = positionals;
    if (!host) throw new UsageError("missing <host>.<cluster>", help);
    if (rest.length)
      throw new UsageError(`unexpected argument '${rest[0]}' (to run a command: outpost exec -t)`, help);
    return runPty(ctx, host, [], values);
  },
};
