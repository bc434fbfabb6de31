import type { ReportedService } from "../../../schema/protocol/frames.ts";
import { type Command, JSON_OPTION, listing, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost service add <host>.<cluster> <name> <address:port> [--json]
       outpost service ls <host>.<cluster> [--json]
       outpost service rm <host>.<cluster> <name>

Names a TCP target on a host so streams can ask for it ('outpost proxy web01.prod ssh'). The running
agent gets the change at once. It only lets API-added services point at its own loopback, or at
networks its config opens (--allow-net); services in the agent's own config (--service) may point
anywhere the host's owner chose, and win over an API service of the same name.

'service ls' shows what the agent says it uses (its last report): every definition with its SOURCE
(agent: its own flags or config file; control plane: added here), which one WINS, and whether its
POLICY lets it reach the target. 'service add' waits briefly for the online agent's word and warns
when it will not use the service or will refuse its target.`;

/** One row of `service ls`: a definition, and the agent's word on it when it has reported. */
interface ServiceRow {
  name: string;
  source: "agent" | "control plane";
  target: string;
  /** Whether streams of this name get this definition; null when the agent has not said. */
  wins: boolean | null;
  /** "allowed", "refused: <why>", or "unknown" when the agent has not said. */
  policy: string;
  addedBy?: string;
  createdAt?: string;
}

function _policy(entry: Pick<ReportedService, "allowed" | "reason" | "wins"> | undefined): string {
  if (entry === undefined) return "unknown";
  if (!entry.wins) return `unused: ${entry.reason ?? "another definition wins"}`;
  if (entry.allowed) return entry.reason ? `allowed (${entry.reason})` : "allowed";
  return `refused: ${(entry.reason ?? "by the agent's policy").replace(/^refused: /, "")}`;
}

export const service: Command = {
  name: "service",
  summary: "add, list and remove a host's services",
  help,
  run: subcommands(help, {
    async add(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (positionals.length !== 3)
        throw new UsageError("expected <host>.<cluster> <name> <address:port>", help);
      const [host, name, target] = positionals as [string, string, string];
      const res = await ctx.client().services.add(host, name, target);
      const agent = res.agent ?? undefined;
      const warning =
        agent === undefined || (agent.wins && agent.allowed)
          ? undefined
          : `warning: the agent on ${host} says: ${_policy(agent)}`;
      if (warning) ctx.io.err(warning);
      if (values.json) return json(ctx.io, { ...res.service, policy: agent ? _policy(agent) : "unknown" });
      ctx.io.out(`service ${name} → ${target} added to ${host}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (positionals.length !== 1) throw new UsageError("expected <host>.<cluster>", help);
      const host = positionals[0]!;
      const res = await ctx.client().services.list(host);
      const reported = res.agent?.services ?? [];
      const rows: ServiceRow[] = [];
      for (const s of reported.filter((r) => r.source === "agent")) {
        rows.push({ name: s.name, source: "agent", target: s.target, wins: s.wins, policy: _policy(s) });
      }
      for (const s of res.services) {
        const entry = reported.find((r) => r.source === "cp" && r.name === s.name);
        // A definition the agent reported with another target is one it has not applied yet.
        const current = entry?.target === s.target ? entry : undefined;
        rows.push({
          name: s.name,
          source: "control plane",
          target: s.target,
          wins: current?.wins ?? null,
          policy: _policy(current),
          addedBy: s.createdBy,
          createdAt: s.createdAt,
        });
      }
      rows.sort((a, b) => a.name.localeCompare(b.name) || a.source.localeCompare(b.source));
      if (values.json) return json(ctx.io, listing(rows));
      table(
        ctx.io,
        ["NAME", "SOURCE", "TARGET", "WINS", "POLICY"],
        rows.map((r) => [
          r.name,
          r.source,
          r.target,
          r.wins === null ? "?" : r.wins ? "yes" : "no",
          r.policy,
        ]),
      );
      if (res.agent === null) {
        ctx.io.err(
          `note: the agent on ${host} has not reported what it uses (${res.hostStatus === "online" ? "an older agent" : res.hostStatus}); its own services are not shown`,
        );
      } else {
        ctx.io.err(
          `as the agent reported at ${res.agent.receivedAt}${res.hostStatus === "online" ? "" : ` (now ${res.hostStatus})`}`,
        );
      }
      return 0;
    },
    async rm(ctx, args) {
      const { positionals } = parse(args, {}, help);
      if (positionals.length !== 2) throw new UsageError("expected <host>.<cluster> <name>", help);
      await ctx.client().services.remove(positionals[0]!, positionals[1]!);
      ctx.io.out(`service ${positionals[1]} removed from ${positionals[0]}`);
      return 0;
    },
  }),
};
