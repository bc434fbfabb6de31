import { parseDuration } from "../../../schema/names.ts";
import { type Command, JSON_OPTION, listing, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const KINDS = ["exec", "tcp", "mesh", "exposure"];

const help = `usage: outpost sessions [--host <host>.<cluster>] [--kind exec|tcp|mesh|exposure] [--since 10m|2h|ISO] [--limit N] [--cursor C] [--wide] [--json]

Streams run through the control plane, newest first: when, who (the key's name; a mesh route's
host), on which host, what kind (exec, tcp for forward/proxy/ssh, mesh, exposure), what ran or was
reached, how it ended, how long it took and how many bytes went each way. --since takes a duration
back from now or an ISO 8601 time. Prints the cursor for the next page when there is one. --wide adds
ids; --json gives { "items": [...], "nextCursor"?: "…" }.`;

function duration(start: string, end: string | null): string {
  if (!end) return "running";
  const ms = Date.parse(end) - Date.parse(start);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export const sessions: Command = {
  name: "sessions",
  summary: "list sessions (exec, tcp, mesh, exposure)",
  help,
  async run(ctx, args) {
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
