import { type Command, JSON_OPTION, parse, subcommands } from "../command.ts";
import { json } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost recording [status] [--json]
       outpost recording on|off

Whether the tenant's terminal sessions ('outpost shell', 'exec -t') are recorded: asciicast v2, kept
in the control plane's bucket, replayed with 'outpost sessions play <id>' by operators and admins.
On unless turned off; 'on' and 'off' need the admin role.`;

async function set(enabled: boolean, ctx: Parameters<Command["run"]>[0], args: string[]): Promise<number> {
  const { values, positionals } = parse(args, JSON_OPTION, help);
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
  const res = await ctx.client().settings.setRecording(enabled);
  if (values.json) return json(ctx.io, res);
  ctx.io.out(`session recording is ${res.recording ? "on" : "off"}`);
  return 0;
}

async function status(ctx: Parameters<Command["run"]>[0], args: string[]): Promise<number> {
  const { values, positionals } = parse(args, JSON_OPTION, help);
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
  const res = await ctx.client().settings.recording();
  if (values.json) return json(ctx.io, res);
  ctx.io.out(`session recording is ${res.recording ? "on" : "off"}`);
  return 0;
}

export const recording: Command = {
  name: "recording",
  summary: "turn the tenant's session recording on or off",
  help,
  async run(ctx, args) {
    if (args.length === 0 || args[0]?.startsWith("-")) return status(ctx, args);
    return subcommands(help, {
      status,
      on: (c, a) => set(true, c, a),
      off: (c, a) => set(false, c, a),
    })(ctx, args);
  },
};
