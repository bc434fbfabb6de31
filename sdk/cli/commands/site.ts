import { type Command, clusterSite, JSON_OPTION, listing, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost site create <cluster>/<site> [--json]
       outpost site ls [<cluster>] [--json]
       outpost site rm <cluster>/<site>

Sites are places within a cluster (a region, a rack); enrollment tokens are made for a site.`;

export const site: Command = {
  name: "site",
  summary: "create, list and remove sites",
  help,
  run: subcommands(help, {
    async create(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (positionals.length !== 1) throw new UsageError("expected exactly one <cluster>/<site>", help);
      const { cluster, site } = clusterSite(positionals[0], help);
      const res = await ctx.client().sites.create(cluster, site);
      if (values.json) return json(ctx.io, res.site);
      ctx.io.out(`site ${res.site.cluster}/${res.site.name} (${res.site.id}) created`);
      return 0;
    },
    async ls(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (positionals.length > 1) throw new UsageError("expected at most one <cluster>", help);
      const res = await ctx.client().sites.list(positionals[0]);
      if (values.json) return json(ctx.io, listing(res.sites));
      table(
        ctx.io,
        ["SITE", "ID", "CREATED"],
        res.sites.map((s) => [`${s.cluster}/${s.name}`, s.id, s.createdAt]),
      );
      return 0;
    },
    async rm(ctx, args) {
      const { positionals } = parse(args, {}, help);
      if (positionals.length !== 1) throw new UsageError("expected exactly one <cluster>/<site>", help);
      const { cluster, site } = clusterSite(positionals[0], help);
      const res = await ctx.client().sites.delete(cluster, site);
      ctx.io.out(`site ${res.site.cluster}/${res.site.name} removed`);
      return 0;
    },
  }),
};
