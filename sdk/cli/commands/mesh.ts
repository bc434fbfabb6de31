import { type Command, JSON_OPTION, listing, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost mesh add <from-host>.<cluster> --listen 127.0.0.1:PORT --to <host>.<cluster>:<service> [--json]
       outpost mesh ls [--cluster C] [--wide] [--json]
       outpost mesh rm <route-id>

The agent on <from-host> listens on --listen (its loopback) and carries each connection to the other
host's service through the relay. Routes stay within a cluster, reach running agents at once, and
survive agent and control plane restarts. STATE is the route's listener as the agent on <from-host>
last reported it: listening, failed: <why> (e.g. address in use), pending or unknown.`;

export const mesh: Command = {
  name: "mesh",
  summary: "route a port on one host to a service on another",
  help,
  run: subcommands(help, {
    async add(ctx, args) {
      const { values, positionals } = parse(
        args,
        { ...JSON_OPTION, listen: { type: "string" }, to: { type: "string" } },
        help,
      );
      if (positionals.length !== 1) throw new UsageError("expected <from-host>.<cluster>", help);
      if (!values.listen || !values.to) throw new UsageError("--listen and --to are required", help);
      const res = await ctx.client().mesh.add(positionals[0]!, values.listen as string, values.to as string);
      if (values.json) return json(ctx.io, res.route);
      ctx.io.out(`mesh route ${res.route.id}: ${positionals[0]} ${res.route.listen} → ${values.to}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values, positionals } = parse(
        args,
        { ...JSON_OPTION, cluster: { type: "string" }, wide: { type: "boolean", default: false } },
        help,
      );
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
      const res = await ctx.client().mesh.list(values.cluster as string | undefined);
      if (values.json) return json(ctx.io, listing(res.routes));
      const headers = ["ID", "FROM", "LISTEN", "TO", "SERVICE", "STATE"];
      table(
        ctx.io,
        values.wide ? [...headers, "FROM ID", "TO ID"] : headers,
        res.routes.map((r) => {
          const row = [r.id, r.from ?? r.fromHostId, r.listen, r.to ?? r.toHostId, r.toService, r.state];
          return values.wide ? [...row, r.fromHostId, r.toHostId] : row;
        }),
      );
      return 0;
    },
    async rm(ctx, args) {
      const { positionals } = parse(args, {}, help);
      if (positionals.length !== 1) throw new UsageError("expected <route-id>", help);
      await ctx.client().mesh.remove(positionals[0]!);
      ctx.io.out(`mesh route ${positionals[0]} removed`);
      return 0;
    },
  }),
};
