import { type Command, type Context, JSON_OPTION, listing, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost tenant create <name> [--json]
       outpost tenant ls [--json]
       outpost tenant domain add <tenant> <domain> [--json]
       outpost tenant domain ls [<tenant>] [--json]
       outpost tenant domain rm <tenant> <domain> [--force]

Platform admin commands: they use OUTPOST_ADMIN_TOKEN. 'create' prints the tenant's first admin key
once; in --json its field is 'token'.

'domain add' grants a domain to a tenant: its exposures may then take --hostname names within it
(the domain itself or names under it; route each to the Worker). The control plane's own hostnames,
the exposure domain and names above or under them cannot be granted, nor a domain another tenant's
grant overlaps. 'domain rm' is refused while exposures use the domain; --force takes the hostname off
them (they stay at their own <name> origin).`;

async function domainAdd(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, JSON_OPTION, help);
  if (positionals.length !== 2) throw new UsageError("expected <tenant> <domain>", help);
  const res = await ctx.adminClient().tenantDomains.add(positionals[0]!, positionals[1]!);
  if (values.json) return json(ctx.io, res.domain);
  ctx.io.out(`domain ${res.domain.domain} granted to tenant ${res.domain.tenant}`);
  return 0;
}

async function domainLs(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, JSON_OPTION, help);
  if (positionals.length > 1) throw new UsageError("expected at most one <tenant>", help);
  const res = await ctx.adminClient().tenantDomains.list(positionals[0]);
  if (values.json) return json(ctx.io, listing(res.domains));
  table(
    ctx.io,
    ["DOMAIN", "TENANT", "GRANTED"],
    res.domains.map((d) => [d.domain, d.tenant, d.createdAt]),
  );
  return 0;
}

async function domainRm(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { force: { type: "boolean", default: false } }, help);
  if (positionals.length !== 2) throw new UsageError("expected <tenant> <domain>", help);
  const res = await ctx
    .adminClient()
    .tenantDomains.remove(positionals[0]!, positionals[1]!, { force: values.force as boolean });
  ctx.io.out(`domain ${res.removed.domain} of tenant ${res.removed.tenant} removed`);
  for (const hostname of res.hostnamesRemoved) ctx.io.out(`no longer served: ${hostname}`);
  return 0;
}

export const tenant: Command = {
  name: "tenant",
  summary: "create and list tenants, grant them domains (platform admin)",
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
      if (values.json) return json(ctx.io, listing(res.tenants));
      table(
        ctx.io,
        ["NAME", "ID", "CREATED"],
        res.tenants.map((t) => [t.name, t.id, t.createdAt]),
      );
      return 0;
    },
    domain: subcommands(help, { add: domainAdd, ls: domainLs, rm: domainRm }),
  }),
};
