import { type Command, JSON_OPTION, parse } from "../command.ts";
import { json } from "../output.ts";
import { UsageError } from "../usage-error.ts";
import { followDeployment } from "./deploy.ts";

const help = `usage: outpost rollback <app> [--to N] [--json]

Swaps back to release N (default: the last healthy release before the live one), through the same
health gate as a deploy and without any upload. Exit 0 once it is live, 1 if it was refused.`;

export const rollback: Command = {
  name: "rollback",
  summary: "go back to an earlier release of an app",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, { ...JSON_OPTION, to: { type: "string" } }, help);
    if (positionals.length !== 1) throw new UsageError("expected <app>", help);
    const to = values.to === undefined ? undefined : Number(values.to);
    if (to !== undefined && !(Number.isInteger(to) && to > 0))
      throw new UsageError("--to must be a release number", help);
    const client = ctx.client();
    const { deployment } = await client.apps.rollback(positionals[0]!, to);
    const done = await followDeployment(client, deployment.id);
    if (values.json) json(ctx.io, done);
    else if (done.status === "succeeded") ctx.io.out(`${done.app}: release ${done.release} is live again`);
    else
      ctx.io.err(`outpost: rollback of ${done.app} to ${done.release} ${done.status}: ${done.message ?? ""}`);
    return done.status === "succeeded" ? 0 : 1;
  },
};
