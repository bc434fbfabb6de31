import { type Command, JSON_OPTION, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost releases <app> [--json]

An app's releases, newest first: number, artifact, size, whether it is live and whether it ever passed
its health gate (what 'outpost rollback' goes back to).`;

export const releases: Command = {
  name: "releases",
  summary: "list an app's releases",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, JSON_OPTION, help);
    if (positionals.length !== 1) throw new UsageError("expected <app>", help);
    const { items } = await ctx.client().apps.releases(positionals[0]!);
    if (values.json) return json(ctx.io, { items });
    table(
      ctx.io,
      ["RELEASE", "ARTIFACT", "SIZE", "LIVE", "HEALTHY", "BY", "CREATED"],
      items.map((r) => [
        String(r.release),
        r.sha256.slice(0, 12),
        String(r.size),
        r.live ? "yes" : "",
        r.healthy ? "yes" : "no",
        r.createdBy,
        r.createdAt,
      ]),
    );
    return 0;
  },
};
