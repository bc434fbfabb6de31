import { type Command, JSON_OPTION, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost deploys [<app>] [--json]
       outpost deploys show <id> [--json]

Deployments (deploys, rollbacks, start/stop/restart/rm), newest first; 'show' lists one per host.`;

export const deploys: Command = {
  name: "deploys",
  summary: "list deployments, or show one",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, JSON_OPTION, help);
    const client = ctx.client();
    if (positionals[0] === "show") {
      if (positionals.length !== 2) throw new UsageError("expected show <id>", help);
      const { deployment } = await client.deploys.get(positionals[1]!);
      if (values.json) return json(ctx.io, deployment);
      ctx.io.out(
        `${deployment.id} ${deployment.app} ${deployment.kind} release ${deployment.release ?? "-"}: ${deployment.status}`,
      );
      table(
        ctx.io,
        ["HOST", "STATUS", "MESSAGE", "UPDATED"],
        deployment.hosts.map((h) => [h.host, h.status, h.message ?? "", h.updatedAt ?? ""]),
      );
      return 0;
    }
    if (positionals.length > 1) throw new UsageError("expected at most <app>", help);
    const { items } = positionals[0]
      ? await client.apps.deploys(positionals[0])
      : await client.deploys.list();
    if (values.json) return json(ctx.io, { items });
    table(
      ctx.io,
      ["ID", "APP", "KIND", "RELEASE", "STATUS", "BY", "CREATED", "MESSAGE"],
      items.map((d) => [
        d.id,
        d.app,
        d.kind,
        String(d.release ?? "-"),
        d.status,
        d.createdBy,
        d.createdAt,
        d.message ?? "",
      ]),
    );
    return 0;
  },
};
