import { type Command, JSON_OPTION, listing, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost audit [--limit N] [--cursor ID] [--wide] [--json]

The tenant's audit log, newest first: who (a key's name), what, on what (hosts as <host>.<cluster>,
keys and clusters by name) and whether it was allowed. Prints the cursor for the next page when there
is one. --wide adds the ids; --json gives { "items": [...], "nextCursor"?: "…" }.`;

export const audit: Command = {
  name: "audit",
  summary: "show the audit log",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(
      args,
      {
        ...JSON_OPTION,
        limit: { type: "string" },
        cursor: { type: "string" },
        wide: { type: "boolean", default: false },
      },
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
    if (values.json) return json(ctx.io, listing(res.events, res.nextCursor));
    const headers = ["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME"];
    table(
      ctx.io,
      values.wide ? [...headers, "ACTOR ID", "TARGET ID"] : headers,
      res.events.map((e) => {
        const row = [e.at, e.by.name, e.action, e.targetName ?? e.target, e.outcome];
        return values.wide ? [...row, e.actor, e.target] : row;
      }),
    );
    if (res.nextCursor) ctx.io.out(`more: outpost audit --cursor ${res.nextCursor}`);
    return 0;
  },
};
