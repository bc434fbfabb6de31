import { type Command, JSON_OPTION, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost tenant create <name> [--json]
       outpost tenant ls [--json]

Platform admin commands: they use OUTPOST_ADMIN_TOKEN. 'create' prints the tenant's first admin key
once; in --json its field is 'token'.`;

export const tenant: Command = {
  name: "tenant",
  summary: "create and list tenants (platform admin)",
  help,
  run: subcommands(help, {
    async create(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (positionals.length !== 1) throw new UsageError("expected exactly one <name>", help);
      const res = await ctx.adminClient().tenants.create(positionals[0]!);
      if (values.json) return json(ctx.io, res);
      ctx.io.out(`tenant ${res.tenant.name} (${res.tenant.id}) created`);
      ctx.io.out(`admin key (shown once): ${res.token}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values } = parse(args, JSON_OPTION, help);
      const res = await ctx.adminClient().tenants.list();
      if (values.json) return json(ctx.io, res.tenants);
      table(
        ctx.io,
        ["NAME", "ID", "CREATED"],
        res.tenants.map((t) => [t.name, t.id, t.createdAt]),
      );
      return 0;
    },
  }),
};
