import { type Command, type Context, JSON_OPTION, listing, parse } from "../command.ts";
import { confirm } from "../confirm.ts";
import { ago, json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";
import { labelHelp, labelHost } from "./hosts-label.ts";

const help = `usage: outpost hosts [--cluster C] [--site S|C/S] [-l SELECTOR]… [--status online|offline|pending|revoked] [--wide] [--json]
       outpost hosts label <host>.<cluster> [k=v…] [--rm k]…
       outpost hosts rm <host>.<cluster> [--force]
       outpost hosts revoke <host>.<cluster> [--force]

-l takes a label selector: k=v, k!=v, 'k in (a,b)', 'k notin (a,b)', k (set), !k (not set), several
separated by commas; repeated -l all hold. (--label k=v is the old single-label filter.)

Lists hosts with their site, status, when they were last seen, labels, the agent's version and
runtime, and what exec its owner allows: any, off, or allowlist(N) for N argv prefixes (--json lists
them); - for an agent too old to say. --wide adds the host ids; --json gives { "items": [...] }.

'revoke' refuses the host's key for good: its agent is disconnected and cannot come back (the host
stays listed as revoked). 'rm' deletes the host with its services, exposures and mesh routes. Both ask
for confirmation on a terminal, and need --force anywhere else. Both need the admin role.`;

/** facts.exec as the agent reported it (capability 4), in one short cell. */
function execShown(facts: Record<string, unknown> | null | undefined): string | undefined {
  const exec = facts?.exec as { mode?: unknown; allow?: unknown } | undefined;
  if (typeof exec?.mode !== "string") return undefined;
  return exec.mode === "allowlist" && Array.isArray(exec.allow)
    ? `allowlist(${exec.allow.length})`
    : exec.mode;
}

function labelsShown(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

async function list(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...JSON_OPTION,
      cluster: { type: "string" },
      site: { type: "string" },
      label: { type: "string" },
      selector: { type: "string", short: "l", multiple: true },
      status: { type: "string" },
      wide: { type: "boolean", default: false },
      names: { type: "boolean", default: false },
    },
    help,
  );
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
  const query: Record<string, string> = {};
  for (const k of ["cluster", "site", "label", "status"] as const) {
    if (values[k]) query[k] = values[k] as string;
  }
  if (values.selector?.length) query.selector = values.selector.join(",");
  // --site C/S names the cluster too.
  const slash = query.site?.indexOf("/") ?? -1;
  if (query.site && slash !== -1) {
    const cluster = query.site.slice(0, slash);
    if (query.cluster && query.cluster !== cluster)
      throw new UsageError(`--site ${query.site} is not in --cluster ${query.cluster}`, help);
    query.cluster = cluster;
    query.site = query.site.slice(slash + 1);
  }
  const res = await ctx.client().hosts.list(query);
  if (values.json) return json(ctx.io, listing(res.hosts));
  // For shell completion: one <host>.<cluster> per line.
  if (values.names) {
    for (const h of res.hosts) ctx.io.out(h.fqdn);
    return 0;
  }
  const headers = ["HOST", "SITE", "STATUS", "LAST SEEN", "LABELS", "AGENT", "RUNTIME", "EXEC"];
  table(
    ctx.io,
    values.wide ? [...headers, "ID"] : headers,
    res.hosts.map((h) => {
      const row = [
        h.fqdn,
        `${h.cluster}/${h.site}`,
        h.revokedAt ? "revoked" : h.status,
        // An online host's row is not written per heartbeat (worker/durable/host/liveness.ts).
        !h.revokedAt && h.status === "online" ? "now" : ago(h.lastSeenAt),
        labelsShown(h.labels),
        h.agentVersion,
        h.runtime,
        execShown(h.facts),
      ];
      return values.wide ? [...row, h.id] : row;
    }),
  );
  return 0;
}

async function change(ctx: Context, args: string[], what: "rm" | "revoke"): Promise<number> {
  const { values, positionals } = parse(args, { force: { type: "boolean", default: false } }, help);
  if (positionals.length !== 1) throw new UsageError("expected exactly one <host>.<cluster>", help);
  const ref = positionals[0]!;
  const question =
    what === "rm"
      ? `delete host ${ref} with its services, exposures and mesh routes`
      : `revoke host ${ref} (its agent can never reconnect)`;
  if (!(await confirm(ctx, question, values.force as boolean, help))) return 1;
  const client = ctx.client();
  if (what === "rm") {
    const res = await client.hosts.delete(ref);
    ctx.io.out(`host ${ref} (${res.host.id}) deleted`);
  } else {
    const res = await client.hosts.revoke(ref);
    ctx.io.out(`host ${ref} (${res.host.id}) revoked`);
  }
  return 0;
}

export const hosts: Command = {
  name: "hosts",
  summary: "list, label, revoke and remove hosts",
  help: `${help}\n\n${labelHelp}`,
  async run(ctx, args) {
    if (args[0] === "label") return labelHost(ctx, args.slice(1));
    if (args[0] === "rm" || args[0] === "revoke") return change(ctx, args.slice(1), args[0]);
    return list(ctx, args);
  },
};
