import { hostname } from "node:os";
import { NAME_PATTERN, NAME_RULE } from "../../../schema/names.ts";
import { createLocalKeeper, keeperApi, localKeepers } from "../../secrets/index.ts";
import { type Command, JSON_OPTION, parse, subcommands } from "../command.ts";
import { configDir } from "../config.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost keeper init [--name N] [--json]
       outpost keeper ls [--json]
       outpost keeper rm <name>

Secret keepers can open every env value of the tenant, so they can seal it for a host that is not yet
a recipient ('outpost deploy' does that by itself when this machine holds a keeper key). 'init' makes
an X25519 key pair here, keeps it in $XDG_CONFIG_HOME/outpost/keepers/<name>.json (mode 0600) and
registers only its public key (admin role). Every 'outpost env set' seals to every keeper. 'rm'
unregisters a keeper and drops every key sealed to it; its file here stays (delete it yourself).`;

/** The default keeper name: this machine's hostname as a DNS label. */
function _defaultName(): string {
  const name = hostname()
    .toLowerCase()
    .split(".")[0]!
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63);
  return name || "keeper";
}

export const keeper: Command = {
  name: "keeper",
  summary: "make, list and remove secret keepers (keys that can re-seal env secrets)",
  help,
  run: subcommands(help, {
    async init(ctx, args) {
      const { values, positionals } = parse(args, { ...JSON_OPTION, name: { type: "string" } }, help);
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
      const name = (values.name as string | undefined) ?? _defaultName();
      if (!NAME_PATTERN.test(name)) throw new UsageError(`--name must be ${NAME_RULE}`, help);
      const dir = configDir(ctx.env);
      if (localKeepers(dir).some((k) => k.name === name)) {
        ctx.io.err(`outpost: a keeper key named '${name}' exists here already; pick another --name`);
        return 1;
      }
      const client = ctx.client();
      const local = createLocalKeeper(dir, name);
      await keeperApi.add(client, name, local.publicKey);
      if (values.json) return json(ctx.io, { name, publicKey: local.publicKey, path: local.path });
      ctx.io.out(`keeper ${name} registered (${local.publicKey}); its key is in ${local.path}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
      const res = await keeperApi.list(ctx.client());
      const here = new Set(localKeepers(configDir(ctx.env)).map((k) => k.publicKey));
      const items = res.items.map((k) => ({ ...k, local: here.has(k.publicKey as never) }));
      if (values.json) return json(ctx.io, { items });
      table(
        ctx.io,
        ["NAME", "PUBLIC KEY", "HERE", "ADDED BY", "CREATED"],
        items.map((k) => [k.name, k.publicKey, k.local ? "yes" : "no", k.createdBy, k.createdAt]),
      );
      return 0;
    },
    async rm(ctx, args) {
      const { positionals } = parse(args, {}, help);
      if (positionals.length !== 1) throw new UsageError("expected <name>", help);
      await keeperApi.remove(ctx.client(), positionals[0]!);
      ctx.io.out(`keeper ${positionals[0]} removed`);
      return 0;
    },
  }),
};
