import { Outpost } from "../../outpost.ts";
import type { Command } from "../command.ts";
import { parse } from "../command.ts";
import { profileName, saveProfile } from "../config.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost [--profile P] login <url> --token <api-key>
       outpost [--profile P] login <url> --token-from-env

Checks the key against the control plane and saves both, as the profile P (default 'default', or
OUTPOST_PROFILE), to your config directory (mode 0600). --token-from-env takes the key from
$OUTPOST_TOKEN. OUTPOST_URL and OUTPOST_TOKEN, when set, take precedence over the saved login unless
--profile is given. Several profiles can point at several control planes.`;

export const login: Command = {
  name: "login",
  summary: "save a control plane URL and an API key (as a profile)",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(
      args,
      { token: { type: "string" }, "token-from-env": { type: "boolean", default: false } },
      help,
    );
    const [url] = positionals;
    if (!url || positionals.length > 1) throw new UsageError("expected exactly one <url>", help);
    if (!/^https?:\/\//.test(url)) throw new UsageError(`'${url}' is not an http(s) URL`, help);
    if (values.token && values["token-from-env"])
      throw new UsageError("give --token or --token-from-env, not both", help);
    let token = values.token as string | undefined;
    if (values["token-from-env"]) {
      token = ctx.env.OUTPOST_TOKEN;
      if (!token) throw new UsageError("--token-from-env: OUTPOST_TOKEN is not set", help);
    }
    if (!token) throw new UsageError("missing --token <api-key> (or --token-from-env)", help);
    const name = profileName(ctx.env, ctx.profile);
    const me = await new Outpost({ url, token }).whoami();
    const path = saveProfile(name, { url: url.replace(/\/+$/, ""), token }, ctx.env);
    if (values["token-from-env"]) ctx.io.err("using the API key in $OUTPOST_TOKEN");
    ctx.io.out(
      `logged in to ${url} as key '${me.key.name}' (${me.key.role}) of tenant ${me.tenant.name}; saved as profile '${name}' in ${path}`,
    );
    return 0;
  },
};
