import { type Command, JSON_OPTION, listing, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost cluster create <name> [--json]
       outpost cluster ls [--json]
       outpost cluster rm <name>

Clusters group hosts; names are DNS labels. Removing a cluster that still has hosts is refused.`;

function one(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError("expected exactly one <name>", help);
  return positionals[0]!;
}

export const cluster: Command = {
  name: "cluster",
  summary: "create, list and remove clusters",
  help,
  run: subcommands(help, {
    async create(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      const res = await ctx.client().clusters.create(one(positionals));
      if (values.json) return json(ctx.io, res.cluster);
      ctx.io.out(`cluster ${res.cluster.name} (${res.cluster.id}) created`);
      return 0;
    },
    async ls(ctx, args) {
      const { values } = parse(args, JSON_OPTION, help);
      const res = await ctx.client().clusters.list();
      if (values.json) return json(ctx.io, listing(res.clusters));
      table(
        ctx.io,
        ["NAME", "ID", "CREATED"],
        res.clusters.map((c) => [c.name, c.id, c.createdAt]),
      );
      return 0;
    },
    async rm(ctx, args) {
      const { positionals } = parse(args, {}, help);
      const res = await ctx.client().clusters.delete(one(positionals));
      ctx.io.out(`cluster ${res.cluster.name} removed`);
      return 0;
    },
  }),
};
