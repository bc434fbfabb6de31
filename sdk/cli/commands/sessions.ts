import { type Command, JSON_OPTION, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost sessions [--host <host>.<cluster>] [--limit N] [--json]

Execs run through the control plane, newest first: who, on which host, what, when, how it ended and
how many bytes went each way.`;

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
