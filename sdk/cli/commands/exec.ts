import { once } from "node:events";
import { constants } from "node:os";
import { parseDuration } from "../../../schema/names.ts";
import type { ExecStream } from "../../streams/exec.ts";
import { type Command, parse } from "../command.ts";
import { UsageError } from "../usage-error.ts";
import { runFanout } from "./fanout.ts";
import { runPty } from "./shell.ts";

const help = `usage: outpost exec [--cwd DIR] [--env K=V]… [--timeout 30s] [--record] <host>.<cluster> [--] <argv…>
       outpost exec -t [--cwd DIR] [--env K=V]… <host>.<cluster> <argv…>   (on a terminal: see 'outpost shell --help')
       outpost <host>.<cluster> <argv…>
       outpost exec --cluster C [--site S] [-l SELECTOR]… [--max-parallel N] [--timeout 30s]
                    [--out-dir DIR] [--json] -- <argv…>

Runs argv on the host — no shell unless you run one ('sh -c "…"'). As with ssh, everything after
<host>.<cluster> is the remote argv, options and --help included ('outpost web01.prod ls -la');
outpost's own options go before the host. A '--' right after the host is dropped, and the older form
'exec <host> [--cwd D] [--env K=V] [--timeout T] -- <argv…>' still works.

stdin is streamed to it, its stdout and stderr come back separately, and this command exits with the
remote exit code (128+n when signal n ended it), or 255 when it could not be run at all (unknown or
offline host, refused, control plane unreachable). Ctrl-C sends SIGINT to the remote process; a
second Ctrl-C drops the session.

--record records its output (stdout and stderr as a terminal shows them, never stdin) as the
session's asciicast, as a terminal session is; the session id is printed on stderr at the end, and
'outpost sessions play <id>' replays it. Refused when the tenant turned recording off. (A terminal,
exec -t, is recorded whenever the tenant records: --record adds nothing to it.)

With --cluster it runs on every host of the cluster (and --site) that the label selectors choose
(-l 'role=web', 'zone in (a,b)', '!spot'; repeated -l all hold), at most --max-parallel at once
(default 32), through one connection: the cluster's Durable Object runs it server-side. Each line
of output is prefixed with its host (web01.prod: …); --out-dir writes DIR/<host>.stdout and
DIR/<host>.stderr instead; --json prints one JSON object per event. A summary (host, status, exit
code, duration, bytes) ends it; hosts that are offline are listed as such. Exits 0 only when every
host exited 0, 1 otherwise (and when no host matches); Ctrl-C stops it on every host (exit 130).`;

const options = {
  cwd: { type: "string" },
  env: { type: "string", multiple: true },
  timeout: { type: "string" },
  tty: { type: "boolean", short: "t", default: false },
  record: { type: "boolean", default: false },
  cluster: { type: "string" },
  site: { type: "string" },
  selector: { type: "string", short: "l", multiple: true },
  "max-parallel": { type: "string" },
  "out-dir": { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** Flags that only mean something with --cluster. */
const FANOUT_ONLY = ["site", "selector", "max-parallel", "out-dir", "json"] as const;

async function pipe(stream: ReadableStream<Uint8Array>, to: NodeJS.WriteStream): Promise<void> {
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    if (!to.write(chunk)) await once(to, "drain");
  }
}

/** Runs an exec for the CLI; `argv` is everything after the host. */
export async function runExec(
  ctx: Parameters<Command["run"]>[0],
  host: string,
  argv: string[],
  flags: { cwd?: string; env?: string[]; timeout?: string; record?: boolean },
) {
  if (argv.length === 0) throw new UsageError("nothing to run: give the command after the host", help);
  const { env, timeout } = execOptions(flags);
  const stream = ctx.client().execStream(host, argv, {
    ...(flags.cwd ? { cwd: flags.cwd } : {}),
    ...(Object.keys(env).length ? { env } : {}),
    ...(timeout ? { timeout } : {}),
    ...(flags.record ? { record: true } : {}),
  });
  const code = await relay(stream);
  if (flags.record) {
    const session = await stream.session;
    ctx.io.err(`recorded as session ${session}: outpost sessions play ${session}`);
  }
  return code;
}

/** --env and --timeout, checked. */
function execOptions(flags: { env?: string[]; timeout?: string }) {
  const env: Record<string, string> = {};
  for (const pair of flags.env ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--env '${pair}' is not K=V`, help);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  let timeout: number | undefined;
  if (flags.timeout) {
    timeout = parseDuration(flags.timeout) ?? undefined;
    if (!timeout) throw new UsageError(`--timeout '${flags.timeout}' is not a duration like 30s or 5m`, help);
  }
  return { env, timeout };
}

/** One host's exec, joined to this process: stdin, stdout, stderr, signals, the exit code. */
async function relay(stream: ExecStream) {
  let interrupts = 0;
  const onSigint = () => (++interrupts === 1 ? stream.signal("SIGINT") : stream.close());
  const onSigterm = () => stream.signal("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
  // stdin is copied until it ends or the process exits, whichever is first; it must not hold us open.
  const writer = stream.stdin.getWriter();
  const onData = (chunk: Buffer) => {
    process.stdin.pause();
    writer.write(new Uint8Array(chunk)).then(
      () => process.stdin.resume(),
      () => {},
    );
  };
  const onEnd = () => void writer.close().catch(() => {});
  process.stdin.on("data", onData).on("end", onEnd);
  try {
    const [result] = await Promise.all([
      stream.exited,
      pipe(stream.stdout, process.stdout),
      pipe(stream.stderr, process.stderr),
    ]);
    if (result.code !== null) return result.code;
    const n = result.signal ? constants.signals[result.signal as keyof typeof constants.signals] : undefined;
    return 128 + (n ?? 0);
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
    process.stdin.off("data", onData).off("end", onEnd);
    process.stdin.destroy();
  }
}

/** exec's own options take a value each; anything else starting with `-` before the host is a usage error. */
const VALUED = new Set([
  "--cwd",
  "--env",
  "--timeout",
  "--cluster",
  "--site",
  "-l",
  "--selector",
  "--max-parallel",
  "--out-dir",
]);

/**
 * Splits `exec`'s arguments: outpost's options, the host (the first word that is not an option or an
 * option's value), and the remote argv (everything after the host). Exported for main.ts, which must
 * not take a remote `--help` for its own.
 */
export function splitExecArgs(args: string[]): { own: string[]; host?: string; remote: string[] } {
  let i = 0;
  while (i < args.length) {
    const a = args[i]!;
    if (a === "--" || !a.startsWith("-")) break;
    i += VALUED.has(a) ? 2 : 1;
  }
  if (args[i] === "--") i++;
  const own = args.slice(0, Math.min(i, args.length));
  const host = args[i];
  if (host === undefined) return { own, remote: [] };
  let remote = args.slice(i + 1);
  // The older form: options after the host, then `--`.
  const dash = remote.indexOf("--");
  if (dash !== -1 && _onlyOptions(remote.slice(0, dash))) {
    own.push(...remote.slice(0, dash));
    remote = remote.slice(dash + 1);
  } else if (remote[0] === "--") remote = remote.slice(1);
  return { own, host, remote };
}

function _onlyOptions(words: string[]): boolean {
  for (let i = 0; i < words.length; i++) {
    const a = words[i]!;
    const flag = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (!VALUED.has(flag)) return false;
    if (!a.includes("=")) i++;
    if (i >= words.length) return false;
  }
  return true;
}

export const exec: Command = {
  name: "exec",
  summary: "run a command on a host (also: outpost <host>.<cluster> <argv…>)",
  help,
  async run(ctx, args) {
    const { own, host, remote } = splitExecArgs(args);
    const { values, positionals } = parse(
      own.filter((a) => a !== "--"),
      options,
      help,
    );
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
    if (values.cluster) {
      if (values.record)
        throw new UsageError("--record is for one host's exec, not a --cluster fan-out", help);
      // No host: the first word after the options is the command.
      const argv = host === undefined ? [] : [host, ...remote];
      const { env, timeout } = execOptions(values);
      return runFanout(
        ctx,
        argv,
        {
          cluster: values.cluster,
          json: values.json,
          ...(values.site ? { site: values.site } : {}),
          ...(values.selector ? { selector: values.selector } : {}),
          ...(values["max-parallel"] ? { "max-parallel": values["max-parallel"] } : {}),
          ...(values["out-dir"] ? { "out-dir": values["out-dir"] } : {}),
          ...(values.cwd ? { cwd: values.cwd } : {}),
          ...(timeout ? { timeout } : {}),
          ...(Object.keys(env).length ? { env } : {}),
        },
        help,
      );
    }
    const stray = FANOUT_ONLY.find((f) => values[f] !== undefined && values[f] !== false);
    if (stray) throw new UsageError(`--${stray} needs --cluster (it runs on many hosts)`, help);
    if (!host) throw new UsageError("missing <host>.<cluster>", help);
    const { tty, record, ...flags } = values;
    if (tty) {
      // A terminal is recorded whenever the tenant records: --record asks for nothing more.
      if (remote.length === 0) throw new UsageError("nothing to run: give the command after the host", help);
      if (flags.timeout) throw new UsageError("--timeout does not apply to -t", help);
      return runPty(ctx, host, remote, flags);
    }
    return runExec(ctx, host, remote, { ...flags, record });
  },
};
