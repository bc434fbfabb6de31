import { type Command, JSON_OPTION, parse } from "../command.ts";
import { json } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost whoami [--json]

Which control plane and key this shell uses: the URL, where the credentials came from (a profile or
OUTPOST_URL / OUTPOST_TOKEN), the tenant, the key's name, id and role, and when it expires.`;

export const whoami: Command = {
  name: "whoami",
  summary: "show the control plane, tenant and key in use",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, JSON_OPTION, help);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
    const creds = ctx.credentials();
    const me = await ctx.client().whoami();
    const view = { url: creds.url, profile: creds.source, ...me };
    if (values.json) return json(ctx.io, view);
    const rows: [string, string][] = [
      ["url", creds.url],
      ["profile", creds.source],
      ["tenant", me.tenant.name],
      ["key", `${me.key.name} (${me.key.id})`],
      ["role", me.key.role],
      ["expires", me.key.expiresAt ?? "never"],
    ];
    for (const [k, v] of rows) ctx.io.out(`${`${k}:`.padEnd(9)}${v}`);
    return 0;
  },
};
