import { Outpost } from "../../outpost.ts";
import type { Command } from "../command.ts";
import { parse } from "../command.ts";
import { writeConfig } from "../config.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost login <url> --token <api-key>

Checks the key against the control plane and saves both to your config directory (mode 0600).
OUTPOST_URL and OUTPOST_TOKEN, when set, take precedence over the saved login.`;

export const login: Command = {
  name: "login",
  summary: "save the control plane URL and an API key",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, { token: { type: "string" } }, help);
    const [url] = positionals;
    if (!url || positionals.length > 1) throw new UsageError("expected exactly one <url>", help);
    if (!/^https?:\/\//.test(url)) throw new UsageError(`'${url}' is not an http(s) URL`, help);
    const token = (values.token as string | undefined) ?? ctx.env.OUTPOST_TOKEN;
    if (!token) throw new UsageError("missing --token <api-key>", help);
    await new Outpost({ url, token }).audit({ limit: 1 });
    const path = writeConfig({ url: url.replace(/\/+$/, ""), token }, ctx.env);
    ctx.io.out(`logged in to ${url}; saved to ${path}`);
    return 0;
  },
};
