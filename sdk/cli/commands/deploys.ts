import { type Command, JSON_OPTION, parse } from "../command.ts";
import { watchDeployment } from "../follow.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost deploys [<app>] [--json]
       outpost deploys show <id> [-f] [--json]

Deployments (deploys, rollouts, rollbacks, start/stop/restart/rm), newest first; 'show' lists one per
host. 'show -f' follows a running one until it settles (a live per-host table on a terminal, one line
per change otherwise, NDJSON events with --json); exit 0 if it succeeded, 1 if not. Ctrl-C detaches.`;

export const deploys: Command = {
  name: "deploys",
  summary: "list deployments, or show one",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(
      args,
      { ...JSON_OPTION, follow: { type: "boolean", short: "f", default: false } },
      help,
    );
    const client = ctx.client();
    if (positionals[0] === "show") {
      if (positionals.length !== 2) throw new UsageError("expected show <id>", help);
      if (values.follow) {
        const done = await watchDeployment(ctx.io, client, positionals[1]!, {
          json: values.json,
          tty: process.stdout.isTTY === true,
        });
        if (!values.json)
          ctx.io.out(
            `${done.id} ${done.app} ${done.kind}: ${done.status}${done.message ? ` (${done.message})` : ""}`,
          );
        return done.status === "succeeded" ? 0 : 1;
      }
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
