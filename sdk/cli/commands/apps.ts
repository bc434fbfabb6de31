import { type Command, JSON_OPTION, parse } from "../command.ts";
import { ago, json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost apps [--cluster C] [--json]

Every app on every host: release desired and live, status, health check, restarts and uptime.`;

export const apps: Command = {
  name: "apps",
  summary: "list apps and where they run",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, { ...JSON_OPTION, cluster: { type: "string" } }, help);
    if (positionals.length !== 0) throw new UsageError("expected no arguments", help);
    const { items } = await ctx.client().apps.list(values.cluster);
    if (values.json) return json(ctx.io, { items });
    table(
      ctx.io,
      ["APP", "HOST", "RELEASE", "LIVE", "STATUS", "HEALTH", "RESTARTS", "UP"],
      items.map((a) => [
        a.app,
        a.host,
        String(a.release),
        String(a.live ?? "-"),
        a.status,
        a.health ?? "",
        String(a.restarts),
        a.since ? ago(a.since) : "",
      ]),
    );
    return 0;
  },
};
