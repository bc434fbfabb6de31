import { type Command, JSON_OPTION, parse } from "../command.ts";
import { ago, json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";
import { labelHelp, labelHost } from "./hosts-label.ts";

const help = `usage: outpost hosts [--cluster C] [--site S] [-l SELECTOR]… [--status online|offline|pending] [--json]
       outpost hosts label <host>.<cluster> [k=v…] [--rm k]…

-l takes a label selector: k=v, k!=v, 'k in (a,b)', 'k notin (a,b)', k (set), !k (not set), several
separated by commas; repeated -l all hold. (--label k=v is the old single-label filter.)

Lists hosts with their status, when they were last seen, the agent's version and runtime, and what
exec its owner allows: any, off, or allowlist(N) for N argv prefixes (--json lists them); - for an
agent too old to say.`;

/** facts.exec as the agent reported it (capability 4), in one short cell. */
function execShown(facts: Record<string, unknown> | null | undefined): string | undefined {
  const exec = facts?.exec as { mode?: unknown; allow?: unknown } | undefined;
  if (typeof exec?.mode !== "string") return undefined;
  return exec.mode === "allowlist" && Array.isArray(exec.allow)
    ? `allowlist(${exec.allow.length})`
    : exec.mode;
}

export const hosts: Command = {
  name: "hosts",
  summary: "list hosts",
  help: `${help}\n\n${labelHelp}`,
  async run(ctx, args) {
    if (args[0] === "label") return labelHost(ctx, args.slice(1));
    const { values, positionals } = parse(
      args,
      {
        ...JSON_OPTION,
        cluster: { type: "string" },
        site: { type: "string" },
        label: { type: "string" },
        selector: { type: "string", short: "l", multiple: true },
        status: { type: "string" },
      },
      help,
    );
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
    const query: Record<string, string> = {};
    for (const k of ["cluster", "site", "label", "status"] as const) {
      if (values[k]) query[k] = values[k] as string;
    }
    if (values.selector?.length) query.selector = values.selector.join(",");
    const res = await ctx.client().hosts.list(query);
    if (values.json) return json(ctx.io, res.hosts);
    table(
      ctx.io,
      ["HOST", "SITE", "STATUS", "LAST SEEN", "AGENT", "RUNTIME", "EXEC", "ID"],
      res.hosts.map((h) => [
        h.fqdn,
        `${h.cluster}/${h.site}`,
        h.revokedAt ? "revoked" : h.status,
        ago(h.lastSeenAt),
        h.agentVersion,
        h.runtime,
        execShown(h.facts),
        h.id,
      ]),
    );
    return 0;
  },
};
