import { type Command, JSON_OPTION, listing, parse, subcommands } from "../command.ts";
import { ago, json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost keys create --role viewer|operator|admin [--name N] [--ttl 30d] [--json]
       outpost keys ls [--json]
       outpost keys revoke <id>

API keys of your tenant (admin role). 'create' shows the secret once; in --json its field is 'token'.`;

export const keys: Command = {
  name: "keys",
  summary: "create, list and revoke API keys",
  help,
  run: subcommands(help, {
    async create(ctx, args) {
      const { values, positionals } = parse(
        args,
        { ...JSON_OPTION, role: { type: "string" }, name: { type: "string" }, ttl: { type: "string" } },
        help,
      );
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
      const role = values.role as string | undefined;
      if (!role) throw new UsageError("missing --role viewer|operator|admin", help);
      const res = await ctx.client().keys.create({
        role: role as "viewer",
        ...(values.name ? { name: values.name as string } : {}),
        ...(values.ttl ? { ttl: values.ttl as string } : {}),
      });
      if (values.json) return json(ctx.io, res);
      ctx.io.out(`key ${res.key.id} (${res.key.role}) created`);
      ctx.io.out(`secret (shown once): ${res.token}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values } = parse(args, JSON_OPTION, help);
      const res = await ctx.client().keys.list();
      if (values.json) return json(ctx.io, listing(res.keys));
      table(
        ctx.io,
        ["ID", "NAME", "ROLE", "STATE", "LAST USED", "EXPIRES"],
        res.keys.map((k) => [
          k.id,
          k.name,
          k.role,
          k.revokedAt
            ? "revoked"
            : k.expiresAt && Date.parse(k.expiresAt) <= Date.now()
              ? "expired"
              : "active",
          ago(k.lastUsedAt),
          k.expiresAt ?? "never",
        ]),
      );
      return 0;
    },
    async revoke(ctx, args) {
      const { positionals } = parse(args, {}, help);
      if (positionals.length !== 1) throw new UsageError("expected exactly one <id>", help);
      const res = await ctx.client().keys.revoke(positionals[0]!);
      ctx.io.out(`key ${res.key.id} revoked`);
      return 0;
    },
  }),
};
