import { type Command, JSON_OPTION, parse, subcommands } from "../command.ts";
import { json } from "../output.ts";
import { UsageError } from "../usage-error.ts";
import { followDeployment } from "./deploy.ts";

const help = `usage: outpost app start|stop|restart|rm <app> [--host <host>.<cluster>] [--json]

Changes an app on its hosts (or one): start and stop keep its releases, restart swaps in a fresh
process of the live release through the health gate, rm stops it and removes its files. Exit 0 once
every host did it, 1 otherwise.`;

function _op(op: "start" | "stop" | "restart" | "rm") {
  return async (ctx: Parameters<Command["run"]>[0], args: string[]) => {
    const { values, positionals } = parse(args, { ...JSON_OPTION, host: { type: "string" } }, help);
    if (positionals.length !== 1) throw new UsageError("expected <app>", help);
    const client = ctx.client();
    const { deployment } = await client.apps.action(positionals[0]!, op, values.host);
    const done = await followDeployment(client, deployment.id);
    if (values.json) json(ctx.io, done);
    else if (done.status === "succeeded")
      ctx.io.out(`${done.app}: ${op} done on ${done.hosts.map((h) => h.host).join(", ")}`);
    else ctx.io.err(`outpost: ${op} of ${done.app} ${done.status}: ${done.message ?? ""}`);
    return done.status === "succeeded" ? 0 : 1;
  };
}

export const app: Command = {
  name: "app",
  summary: "start, stop, restart or remove an app",
  help,
  run: subcommands(help, { start: _op("start"), stop: _op("stop"), restart: _op("restart"), rm: _op("rm") }),
};
