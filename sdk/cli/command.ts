// The shape of a CLI command and the argument parsing they share (node:util parseArgs, strict).
import { type ParseArgsConfig, parseArgs } from "node:util";
import { Outpost } from "../outpost.ts";
import { adminCredentials, credentials } from "./config.ts";
import type { Io } from "./output.ts";
import { UsageError } from "./usage-error.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Context {
  io: Io;
  env: NodeJS.ProcessEnv;
  /** A client authenticated with the tenant API key. */
  client(): Outpost;
  /** A client authenticated with the platform admin token. */
  adminClient(): Outpost;
}

export interface Command {
  name: string;
  summary: string;
  /** Full help text: usage lines first. */
  help: string;
  run(ctx: Context, args: string[]): Promise<number | undefined>;
}

export function makeContext(io: Io, env: NodeJS.ProcessEnv): Context {
  return {
    io,
    env,
    client: () => new Outpost(credentials(env)),
    adminClient: () => new Outpost(adminCredentials(env)),
  };
}

export const JSON_OPTION = { json: { type: "boolean", default: false } } as const satisfies Options;

/** Strict parsing: unknown flags and missing values are usage errors that print the command's help. */
export function parse<O extends Options>(args: string[], options: O, help: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), help);
  }
}

/** Splits `<cluster>/<site>`. */
export function clusterSite(ref: string | undefined, help: string): { cluster: string; site: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref ?? "");
  if (!m) throw new UsageError(`expected <cluster>/<site>, got '${ref ?? ""}'`, help);
  return { cluster: m[1]!, site: m[2]! };
}

/** A sub-command dispatcher: `outpost keys create|ls|revoke …`. */
export function subcommands(
  help: string,
  table: Record<string, (ctx: Context, args: string[]) => Promise<number | undefined>>,
): Command["run"] {
  return async (ctx, args) => {
    const [sub, ...rest] = args;
    if (!sub) throw new UsageError("missing sub-command", help);
    const run = table[sub];
    if (!run) throw new UsageError(`unknown sub-command '${sub}'`, help);
    return run(ctx, rest);
  };
}
