import { type Command, JSON_OPTION, listing, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost service add <host>.<cluster> <name> <address:port> [--json]
       outpost service ls <host>.<cluster> [--json]
       outpost service rm <host>.<cluster> <name>

Names a TCP target on a host so streams can ask for it ('outpost proxy web01.prod ssh'). The running
agent gets the change at once. It only lets API-added services point at its own loopback, or at
networks its config opens (--allow-net); services in the agent's own config (--service) may point
anywhere the host's owner chose.`;

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
      if (values.json) return json(ctx.io, res.service);
      ctx.io.out(`service ${name} → ${target} added to ${host}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (positionals.length !== 1) throw new UsageError("expected <host>.<cluster>", help);
      const res = await ctx.client().services.list(positionals[0]!);
      if (values.json) return json(ctx.io, listing(res.services));
      table(
        ctx.io,
        ["NAME", "TARGET", "ADDED BY", "CREATED"],
        res.services.map((s) => [s.name, s.target, s.createdBy, s.createdAt]),
      );
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
