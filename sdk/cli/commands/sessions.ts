import { type Command, type Context, JSON_OPTION, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { playCast } from "../play.ts";
import { UsageError } from "../usage-error.ts";

async function play(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { speed: { type: "string" } }, help);
  if (positionals.length !== 1) throw new UsageError("expected exactly one <session>", help);
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  if (!(Number.isFinite(speed) && speed > 0)) throw new UsageError("--speed must be a positive number", help);
  const cast = await ctx.client().recording(positionals[0]!);
  await playCast(cast, speed, {
    write: (text) => process.stdout.write(text),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5000))),
  });
  return 0;
}

const help = `usage: outpost sessions [--host <host>.<cluster>] [--limit N] [--json]
       outpost sessions play <session> [--speed N]

Execs run through the control plane, newest first: who, on which host, what, when, how it ended and
how many bytes went each way. 'play' replays a terminal session's recording at its pace (--speed 2:
twice as fast); operators and admins may watch.`;

function duration(start: string, end: string | null): string {
  if (!end) return "running";
  const ms = Date.parse(end) - Date.parse(start);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export const sessions: Command = {
  name: "sessions",
  summary: "list exec sessions",
  help,
  async run(ctx, args) {
    if (args[0] === "play") return play(ctx, args.slice(1));
    const { values, positionals } = parse(
      args,
      { ...JSON_OPTION, host: { type: "string" }, limit: { type: "string" } },
      help,
    );
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
    const limit = values.limit ? Number(values.limit) : undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
      throw new UsageError("--limit must be a positive integer", help);
    const res = await ctx
      .client()
      .sessions({ ...(values.host ? { host: values.host } : {}), ...(limit ? { limit } : {}) });
    if (values.json) return json(ctx.io, res.sessions);
    table(
      ctx.io,
      ["STARTED", "ACTOR", "HOST", "COMMAND", "EXIT", "TOOK", "IN", "OUT"],
      res.sessions.map((s) => [
        s.startedAt,
        s.actor,
        s.hostId,
        s.argv.join(" ").slice(0, 60),
        s.exitCode ?? s.signal ?? s.endReason,
        duration(s.startedAt, s.endedAt),
        s.bytesIn,
        s.bytesOut,
      ]),
    );
    return 0;
  },
};
