import type { Context } from "../command.ts";
import { type Command, JSON_OPTION, listing, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost expose <host>.<cluster>:<service|port> --name N [--hostname H] [--public] [--link [--ttl 1h]] [--json]
       outpost expose ls [--wide] [--json]
       outpost expose link <name> [--ttl 1h] [--json]
       outpost expose revoke-links <name>
       outpost expose rm <name>

Serves a host's HTTP service through the control plane on an origin of its own,
https://<name>.<exposure domain>/ (http://<name>.localhost:8787/ under 'npm start'; printed as the
exposure's URL), and at --hostname, which must lie within a domain the platform admin granted to your
tenant ('outpost tenant domain add'), once that name is routed to the control plane. Requests,
streaming bodies and WebSocket upgrades go through the host's relay to the service; the host's own
policy decides what the service may be.

Callers need an API key of this tenant (Authorization: Bearer opk_…) or a signed link: --link (or
'outpost expose link') prints one that works until --ttl passes (at most 30d); 'revoke-links' ends every
link given out. --public lets anyone in (admin role). The service receives who is calling in
X-Outpost-Caller (key:<id>, link or public), X-Outpost-Key-Id, X-Outpost-Tenant and X-Outpost-Role;
callers cannot set these themselves.`;

async function create(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...JSON_OPTION,
      name: { type: "string" },
      hostname: { type: "string" },
      public: { type: "boolean", default: false },
      link: { type: "boolean", default: false },
      ttl: { type: "string" },
    },
    help,
  );
  const target = positionals[0];
  const colon = target?.lastIndexOf(":") ?? -1;
  if (positionals.length !== 1 || !target || colon <= 0)
    throw new UsageError("expected <host>.<cluster>:<service|port>", help);
  if (!values.name) throw new UsageError("--name is required", help);
  if (values.ttl && !values.link) throw new UsageError("--ttl goes with --link", help);
  if (values.link && values.public) throw new UsageError("a public exposure needs no link", help);
  const client = ctx.client();
  const { exposure } = await client.exposures.create(
    target.slice(0, colon),
    target.slice(colon + 1),
    values.name as string,
    {
      ...(values.hostname ? { hostname: values.hostname as string } : {}),
      ...(values.public ? { public: true } : {}),
    },
  );
  const link = values.link
    ? await client.exposures.link(exposure.name, values.ttl as string | undefined)
    : undefined;
  if (values.json) return json(ctx.io, { ...exposure, ...(link ? { link } : {}) });
  ctx.io.out(
    `exposed ${target} as '${exposure.name}' (${exposure.access === "public" ? "public" : "API key or link"})`,
  );
  ctx.io.out(exposure.url);
  if (exposure.hostnameUrl) ctx.io.out(exposure.hostnameUrl);
  if (link) ctx.io.out(`link, valid until ${link.expiresAt}:\n${link.url}`);
  return 0;
}

export const expose: Command = {
  name: "expose",
  summary: "serve a host's HTTP service through the control plane",
  help,
  async run(ctx, args) {
    const [sub, ...rest] = args;
    switch (sub) {
      case "ls": {
        const { values, positionals } = parse(
          rest,
          { ...JSON_OPTION, wide: { type: "boolean", default: false } },
          help,
        );
        if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
        const res = await ctx.client().exposures.list();
        if (values.json) return json(ctx.io, listing(res.exposures));
        const headers = ["NAME", "HOST", "SERVICE", "ACCESS", "URL"];
        table(
          ctx.io,
          values.wide ? [...headers, "ID", "HOST ID"] : headers,
          res.exposures.map((e) => {
            const row = [e.name, e.host, e.service, e.access, e.hostnameUrl ?? e.url];
            return values.wide ? [...row, e.id, e.hostId] : row;
          }),
        );
        return 0;
      }
      case "link": {
        const { values, positionals } = parse(rest, { ...JSON_OPTION, ttl: { type: "string" } }, help);
        if (positionals.length !== 1) throw new UsageError("expected <name>", help);
        const link = await ctx.client().exposures.link(positionals[0]!, values.ttl as string | undefined);
        if (values.json) return json(ctx.io, link);
        ctx.io.out(link.url);
        ctx.io.err(`valid until ${link.expiresAt}`);
        return 0;
      }
      case "revoke-links":
      case "rm": {
        const { positionals } = parse(rest, {}, help);
        if (positionals.length !== 1) throw new UsageError("expected <name>", help);
        if (sub === "rm") {
          await ctx.client().exposures.remove(positionals[0]!);
          ctx.io.out(`exposure ${positionals[0]} removed`);
        } else {
          await ctx.client().exposures.revokeLinks(positionals[0]!);
          ctx.io.out(`every link to ${positionals[0]} revoked`);
        }
        return 0;
      }
      case undefined:
        throw new UsageError("expected <host>.<cluster>:<service|port> or a sub-command", help);
      default:
        return create(ctx, args);
    }
  },
};
