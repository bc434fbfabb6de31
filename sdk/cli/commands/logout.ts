import { type Command, parse } from "../command.ts";
import { configPath, profileName, removeProfile } from "../config.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost [--profile P] logout

Removes the profile's saved URL and API key (default profile 'default', or OUTPOST_PROFILE) from
the config file. The key itself stays valid: revoke it with 'outpost keys revoke <id>'.`;

export const logout: Command = {
  name: "logout",
  summary: "remove a profile's saved login",
  help,
  async run(ctx, args) {
    const { positionals } = parse(args, {}, help);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
    const name = profileName(ctx.env, ctx.profile);
    if (!removeProfile(name, ctx.env)) {
      ctx.io.err(`outpost: no saved login for profile '${name}' in ${configPath(ctx.env)}`);
      return 1;
    }
    ctx.io.out(`logged out: profile '${name}' removed from ${configPath(ctx.env)}`);
    if (ctx.env.OUTPOST_TOKEN)
      ctx.io.err("note: OUTPOST_TOKEN is still set in this shell and still logs you in");
    return 0;
  },
};
