import { parseDuration } from "../../../schema/names.ts";
import { type Command, type Context, JSON_OPTION, listing, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { playCast } from "../play.ts";
import { UsageError } from "../usage-error.ts";

const KINDS = ["exec", "tcp", "pty", "mesh", "exposure", "logs", "console"];

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

const help = `usage: outpost sessions [--host <host>.<cluster>] [--kind exec|tcp|pty|mesh|exposure|logs|console] [--since 10m|2h|ISO] [--limit N] [--cursor C] [--wide] [--json]
       outpost sessions play <session> [--speed N]

Streams run through the control plane, newest first: when, who (the key's name; a mesh route's
host), on which host, what kind (exec, pty for a terminal, tcp for forward/proxy/ssh, mesh, exposure, logs for app and VM
logs, console for a VM console), what ran or was
reached, how it ended, how long it took and how many bytes went each way. --since takes a duration
back from now or an ISO 8601 time. Prints the cursor for the next page when there is one. --wide adds
ids; --json gives { "items": [...], "nextCursor"?: "…" }. 'play' replays a terminal session's
recording at its pace (--speed 2: twice as fast); operators and admins may watch.`;

function duration(start: string, end: string | null): string {
  if (!end) return "running";
  const ms = Date.parse(end) - Date.parse(start);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export const sessions: Command = {
  name: "sessions",
  summary: "list sessions (exec, pty, tcp, mesh, exposure); play a recording",
  help,
  async run(ctx, args) {
    if (args[0] === "play") return play(ctx, args.slice(1));
    const { values, positionals } = parse(
      args,
      {
        ...JSON_OPTION,
        host: { type: "string" },
        kind: { type: "string" },
        since: { type: "string" },
        limit: { type: "string" },
        cursor: { type: "string" },
        wide: { type: "boolean", default: false },
      },
      help,
    );
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
    const limit = values.limit ? Number(values.limit) : undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
      throw new UsageError("--limit must be a positive integer", help);
    const kind = values.kind as string | undefined;
    if (kind && !KINDS.includes(kind))
      throw new UsageError(`--kind must be one of ${KINDS.join(", ")}`, help);
    const since = values.since as string | undefined;
    if (since && parseDuration(since) === null && Number.isNaN(Date.parse(since)))
      throw new UsageError(`--since '${since}' is neither a duration like 10m nor an ISO 8601 time`, help);
    const res = await ctx.client().sessions({
      ...(values.host ? { host: values.host as string } : {}),
      ...(kind ? { kind: kind as "exec" } : {}),
      ...(since ? { since } : {}),
      ...(limit ? { limit } : {}),
      ...(values.cursor ? { cursor: values.cursor as string } : {}),
    });
    if (values.json) return json(ctx.io, listing(res.sessions, res.nextCursor));
    const headers = ["STARTED", "ACTOR", "HOST", "KIND", "COMMAND", "EXIT", "TOOK", "IN", "OUT"];
    table(
      ctx.io,
      values.wide ? [...headers, "ID", "ACTOR ID", "HOST ID"] : headers,
      res.sessions.map((s) => {
        const row = [
          s.startedAt,
          s.by.name,
          s.host ?? s.hostId,
          s.kind,
          s.argv.join(" ").slice(0, 60),
          s.exitCode ?? s.signal ?? s.endReason,
          duration(s.startedAt, s.endedAt),
          s.bytesIn,
          s.bytesOut,
        ];
        return values.wide ? [...row, s.id, s.by.id, s.hostId] : row;
      }),
    );
    if (res.nextCursor) ctx.io.out(`more: outpost sessions --cursor ${res.nextCursor}`);
    return 0;
  },
};
