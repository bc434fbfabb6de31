// The shape of a CLI command and the argument parsing they share (node:util parseArgs, strict).
import { type ParseArgsConfig, parseArgs } from "node:util";
import { Outpost } from "../outpost.ts";
import { adminCredentials, type Credentials, credentials } from "./config.ts";
import type { Io } from "./output.ts";
import { UsageError } from "./usage-error.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Context {
  io: Io;
  env: NodeJS.ProcessEnv;
  /** `--profile P` as given before the command, if it was. */
  profile?: string;
  /** The tenant credentials this run uses (profile or environment). */
  credentials(): Credentials;
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

export function makeContext(io: Io, env: NodeJS.ProcessEnv, profile?: string): Context {
  return {
    io,
    env,
    ...(profile ? { profile } : {}),
    credentials: () => credentials(env, profile),
    client: () => new Outpost(credentials(env, profile)),
    adminClient: () => new Outpost(adminCredentials(env, profile)),
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

/** The one shape of every listing's --json: `{ items, nextCursor? }` (nextCursor only where paged). */
export function listing<T>(items: T[], nextCursor?: string | number | null) {
  return nextCursor === undefined || nextCursor === null
    ? { items }
    : { items, nextCursor: String(nextCursor) };
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
