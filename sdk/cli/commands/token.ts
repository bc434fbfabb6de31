import { type Command, clusterSite, JSON_OPTION, listing, parse, subcommands } from "../command.ts";
import { ago, json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost token create <cluster>/<site> [--ttl 30m] [--labels k=v,…] [--json]
       outpost token ls [--wide] [--json]
       outpost token revoke <id>

One-time enrollment tokens (default lifetime 15m, at most 24h). 'create' shows the token once, with
the install line to run on the new host; in --json its field is 'token'.`;

function parseLabels(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`label '${pair}' is not k=v`, help);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export const token: Command = {
  name: "token",
  summary: "create, list and revoke enrollment tokens",
  help,
  run: subcommands(help, {
    async create(ctx, args) {
      const { values, positionals } = parse(
        args,
        { ...JSON_OPTION, ttl: { type: "string" }, labels: { type: "string" } },
        help,
      );
      if (positionals.length !== 1) throw new UsageError("expected exactly one <cluster>/<site>", help);
      const labels = parseLabels(values.labels as string | undefined);
      const res = await ctx.client().tokens.create({
        ...clusterSite(positionals[0], help),
        ...(values.ttl ? { ttl: values.ttl as string } : {}),
        ...(labels ? { labels } : {}),
      });
      if (values.json) return json(ctx.io, res);
      const e = res.enrollment;
      ctx.io.out(
        `enrollment token ${e.id} for ${e.cluster}/${e.site}, expires ${ago(e.expiresAt)} (single use)`,
      );
      ctx.io.out(`token (shown once): ${res.token}`);
      ctx.io.out("install on the host with:");
      ctx.io.out(`  ${res.install}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values } = parse(args, { ...JSON_OPTION, wide: { type: "boolean", default: false } }, help);
      const res = await ctx.client().tokens.list();
      if (values.json) return json(ctx.io, listing(res.tokens));
      table(
        ctx.io,
        values.wide
          ? ["ID", "SITE", "STATE", "EXPIRES", "USED BY", "HOST ID"]
          : ["ID", "SITE", "STATE", "EXPIRES", "USED BY"],
        res.tokens.map((t) => {
          const row = [t.id, `${t.cluster}/${t.site}`, t.state, ago(t.expiresAt), t.usedByName ?? t.usedBy];
          return values.wide ? [...row, t.usedBy] : row;
        }),
      );
      return 0;
    },
    async revoke(ctx, args) {
      const { positionals } = parse(args, {}, help);
      if (positionals.length !== 1) throw new UsageError("expected exactly one <id>", help);
      await ctx.client().tokens.revoke(positionals[0]!);
      ctx.io.out(`enrollment token ${positionals[0]} revoked`);
      return 0;
    },
  }),
};
