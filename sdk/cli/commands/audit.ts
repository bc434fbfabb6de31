import { type Command, JSON_OPTION, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost audit [--limit N] [--cursor ID] [--json]

The tenant's audit log, newest first. Prints the cursor for the next page when there is one.`;

export const audit: Command = {
  name: "audit",
  summary: "show the audit log",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(
      args,
      { ...JSON_OPTION, limit: { type: "string" }, cursor: { type: "string" } },
      help,
    );
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
    const limit = values.limit ? Number(values.limit) : undefined;
    const cursor = values.cursor ? Number(values.cursor) : undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
      throw new UsageError("--limit must be a positive integer", help);
    if (cursor !== undefined && !(Number.isInteger(cursor) && cursor > 0))
      throw new UsageError("--cursor must be a positive integer", help);
    const res = await ctx.client().audit({ ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) });
    if (values.json) return json(ctx.io, res);
    table(
      ctx.io,
      ["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME"],
      res.events.map((e) => [e.at, e.actor, e.action, e.target, e.outcome]),
    );
    if (res.nextCursor) ctx.io.out(`more: outpost audit --cursor ${res.nextCursor}`);
    return 0;
  },
};
