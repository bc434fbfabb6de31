import { readFileSync } from "node:fs";
import { parse as parseDotenv } from "dotenv";
import { checkEnvName } from "../../../schema/secrets/index.ts";
import { OutpostApiError, OutpostConnectionError } from "../../errors.ts";
import { envApi, keeperApi, localKeepers, resealForHosts, setEnv } from "../../secrets/index.ts";
import { type Command, type Context, JSON_OPTION, parse, subcommands } from "../command.ts";
import { configDir } from "../config.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost env set <app> K=V… [--from-file .env] [--host <host>.<cluster>]… [--json]
       outpost env ls <app> [--json]
       outpost env rm <app> <K>
       outpost env reseal <app> --host <host>.<cluster>…

Env secrets of an app, which the control plane cannot read. 'set' encrypts each value here
(XChaCha20-Poly1305, a key per value) and seals its key to each --host and to every secret keeper of
the tenant ('outpost keeper'); the app sees them in its environment on the hosts it is sealed to.
'ls' shows names, versions, who set them and when, and their recipients, never values. 'reseal' seals
every value to more hosts with a keeper key kept on this machine. Setting needs the operator role.`;

/** A failure of ours (not the server's): one line, exit 1. */
function _refused(ctx: Context, error: unknown): 1 {
  ctx.io.err(`outpost: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}

function _vars(pairs: string[], fromFile: string | undefined): Record<string, string> {
  const vars: Record<string, string> = Object.create(null);
  if (fromFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(fromFile, "utf8");
    } catch (error) {
      throw new UsageError(
        `cannot read --from-file ${fromFile}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
    Object.assign(vars, parseDotenv(text));
  }
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`expected K=V, got '${pair.slice(0, 40)}'`, help);
    vars[pair.slice(0, at)] = pair.slice(at + 1);
  }
  for (const name of Object.keys(vars)) {
    try {
      checkEnvName(name);
    } catch (error) {
      throw new UsageError((error as Error).message, help);
    }
  }
  if (Object.keys(vars).length === 0)
    throw new UsageError("expected at least one K=V (or --from-file)", help);
  return vars;
}

export const env: Command = {
  name: "env",
  summary: "set, list and remove an app's env secrets (sealed; the control plane cannot read them)",
  help,
  run: subcommands(help, {
    async set(ctx, args) {
      const { values, positionals } = parse(
        args,
        { ...JSON_OPTION, "from-file": { type: "string" }, host: { type: "string", multiple: true } },
        help,
      );
      const [app, ...pairs] = positionals;
      if (!app) throw new UsageError("expected <app> K=V…", help);
      const vars = _vars(pairs, values["from-file"] as string | undefined);
      let res: Awaited<ReturnType<typeof setEnv>>;
      try {
        res = await setEnv(ctx.client(), { app, vars, hosts: (values.host as string[] | undefined) ?? [] });
      } catch (error) {
        if (
          error instanceof UsageError ||
          error instanceof OutpostApiError ||
          error instanceof OutpostConnectionError
        )
          throw error;
        return _refused(ctx, error);
      }
      if (values.json) return json(ctx.io, res);
      for (const item of res.items) ctx.io.out(`${app}: ${item.name} set (version ${item.version})`);
      ctx.io.out(`sealed to ${[...res.hosts, ...res.keepers.map((k) => `keeper ${k}`)].join(", ")}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (positionals.length !== 1) throw new UsageError("expected <app>", help);
      const res = await envApi.list(ctx.client(), positionals[0]!);
      if (values.json) return json(ctx.io, { items: res.items });
      table(
        ctx.io,
        ["NAME", "VERSION", "SET BY", "SET AT", "SEALED TO"],
        res.items.map((e) => [
          e.name,
          e.version,
          e.setBy ?? e.createdBy,
          e.createdAt,
          e.recipients
            .map((r) => (r.kind === "keeper" ? `keeper ${r.name ?? "?"}` : (r.name ?? r.id)))
            .sort()
            .join(", "),
        ]),
      );
      return 0;
    },
    async rm(ctx, args) {
      const { positionals } = parse(args, {}, help);
      if (positionals.length !== 2) throw new UsageError("expected <app> <K>", help);
      const res = await envApi.remove(ctx.client(), positionals[0]!, positionals[1]!);
      ctx.io.out(`${positionals[0]}: ${res.removed.name} removed (was version ${res.removed.version})`);
      return 0;
    },
    async reseal(ctx, args) {
      const { values, positionals } = parse(args, { host: { type: "string", multiple: true } }, help);
      if (positionals.length !== 1) throw new UsageError("expected <app>", help);
      const hosts = (values.host as string[] | undefined) ?? [];
      if (hosts.length === 0) throw new UsageError("expected --host <host>.<cluster>", help);
      const client = ctx.client();
      const registered = new Set((await keeperApi.list(client)).items.map((k) => k.publicKey as string));
      const keeper = localKeepers(configDir(ctx.env)).find((k) => registered.has(k.publicKey));
      if (!keeper)
        return _refused(
          ctx,
          "no keeper key of this tenant on this machine: run this where one is ('outpost keeper ls' shows them)",
        );
      try {
        const res = await resealForHosts(client, {
          app: positionals[0]!,
          hostIds: hosts,
          keeper: keeper.secretKey,
        });
        ctx.io.out(
          `${positionals[0]}: ${res.names.length} env var(s) sealed to ${res.hosts.join(", ") || "no host"}`,
        );
        return 0;
      } catch (error) {
        if (error instanceof OutpostApiError || error instanceof OutpostConnectionError) throw error;
        return _refused(ctx, error);
      }
    },
  }),
};
