// `outpost hosts label <host>.<cluster> k=v… [--rm k]…`: sets and removes a host's labels (admin).

import type { Context } from "../command.ts";
import { parse } from "../command.ts";
import { json } from "../output.ts";
import { UsageError } from "../usage-error.ts";

export const labelHelp = `usage: outpost hosts label <host>.<cluster> [k=v…] [--rm k]… [--json]

Sets labels on a host (k=v, repeatable) and removes them (--rm k); prints the host's labels after
the change. Keys are lowercase names ('role', 'example.com/zone'), values up to 63 letters, digits,
'.', '_' or '-'. Labels choose hosts for 'outpost hosts -l', 'outpost exec --cluster C -l' and jobs.
Needs the admin role.`;

export async function labelHost(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { json: { type: "boolean", default: false }, rm: { type: "string", multiple: true } },
    labelHelp,
  );
  const [host, ...pairs] = positionals;
  if (!host) throw new UsageError("missing <host>.<cluster>", labelHelp);
  const set: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`'${pair}' is not k=v`, labelHelp);
    set[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const remove = values.rm ?? [];
  if (pairs.length === 0 && remove.length === 0) {
    throw new UsageError("nothing to change: give k=v to set or --rm k to remove", labelHelp);
  }
  const res = await ctx.client().hosts.label(host, {
    ...(pairs.length ? { set } : {}),
    ...(remove.length ? { remove } : {}),
  });
  if (values.json) return json(ctx.io, res.host);
  const shown = Object.entries(res.host.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  ctx.io.out(`${host}: ${shown || "(no labels)"}`);
  return 0;
}
