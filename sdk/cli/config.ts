// Where `outpost login` keeps control plane URLs and API keys: $XDG_CONFIG_HOME/outpost/config.json
// (default ~/.config), mode 0600 because it holds secrets. One file, several named profiles:
//
//   { "version": 2, "profiles": { "default": { "url": "…", "token": "opk_…" }, "staging": { … } } }
//
// The file of older versions, `{ "url", "token" }`, is read as the profile "default" and rewritten in
// this format the next time a login or logout writes it. Which profile: `--profile P` (before the
// command), else OUTPOST_PROFILE, else "default". OUTPOST_URL / OUTPOST_TOKEN override the profile
// unless `--profile` names one explicitly.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { NAME_PATTERN, NAME_RULE } from "../../schema/names.ts";
import { UsageError } from "./usage-error.ts";

export interface Profile {
  url?: string;
  token?: string;
}

/** $XDG_CONFIG_HOME/outpost (default ~/.config/outpost): the login, and secret keeper keys (keepers/). */
export function configDir(env = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config"), "outpost");
}

interface ConfigFile {
  version: 2;
  profiles: Record<string, Profile>;
}

const DEFAULT_PROFILE = "default";

/** The CLI's not-logged-in refusal: exit 1 (a refusal), not 2 (the command was typed right). */
export class NotLoggedInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotLoggedInError";
  }
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), "config.json");
}

/** A profile name is a DNS label, like every other name here, so it is safe in a ProxyCommand. */
export function checkProfileName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw new UsageError(`profile '${name}' must be ${NAME_RULE}`);
  return name;
}

function _read(env: NodeJS.ProcessEnv): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath(env), "utf8"));
  } catch {
    return { version: 2, profiles: {} };
  }
  const obj = (raw ?? {}) as { version?: unknown; profiles?: unknown; url?: unknown; token?: unknown };
  if (obj.version === 2 && obj.profiles && typeof obj.profiles === "object")
    return { version: 2, profiles: obj.profiles as Record<string, Profile> };
  // Version 1: one login at the top level.
  const old: Profile = {};
  if (typeof obj.url === "string") old.url = obj.url;
  if (typeof obj.token === "string") old.token = obj.token;
  return { version: 2, profiles: old.url || old.token ? { [DEFAULT_PROFILE]: old } : {} };
}

function _write(config: ConfigFile, env: NodeJS.ProcessEnv): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Whole or not at all: a half-written file would lose every profile's key.
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600); // writeFileSync's mode applies only when it creates the file
  renameSync(temporary, path);
  return path;
}

/** The profile this run uses: the explicit one, else OUTPOST_PROFILE, else "default". */
export function profileName(env: NodeJS.ProcessEnv, explicit?: string): string {
  return checkProfileName(explicit || env.OUTPOST_PROFILE || DEFAULT_PROFILE);
}

export function saveProfile(name: string, profile: Profile, env: NodeJS.ProcessEnv = process.env): string {
  const config = _read(env);
  config.profiles[name] = profile;
  return _write(config, env);
}

/** Removes a profile's stored credential; false when there was none. */
export function removeProfile(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const config = _read(env);
  if (!config.profiles[name]) return false;
  delete config.profiles[name];
  _write(config, env);
  return true;
}

export interface Credentials {
  url: string;
  token: string;
  /** Where they came from: a profile's name, or "environment". */
  source: string;
}

/** The URL and tenant API key to use (see the top of this file for the order). */
export function credentials(env: NodeJS.ProcessEnv = process.env, explicit?: string): Credentials {
  const name = profileName(env, explicit);
  const saved = _read(env).profiles[name] ?? {};
  const fromEnv = !explicit;
  const url = (fromEnv && env.OUTPOST_URL) || saved.url;
  const token = (fromEnv && env.OUTPOST_TOKEN) || saved.token;
  if (!url || !token) {
    throw new NotLoggedInError(
      `not logged in${name === DEFAULT_PROFILE ? "" : ` (profile '${name}')`}: run 'outpost ${name === DEFAULT_PROFILE ? "" : `--profile ${name} `}login <url> --token <key>' or set OUTPOST_URL and OUTPOST_TOKEN`,
    );
  }
  const source = fromEnv && (env.OUTPOST_URL || env.OUTPOST_TOKEN) ? "environment" : name;
  return { url, token, source };
}

/** The platform admin credentials (tenant management): OUTPOST_ADMIN_TOKEN, URL as above. */
export function adminCredentials(
  env: NodeJS.ProcessEnv = process.env,
  explicit?: string,
): { url: string; token: string } {
  const url = (!explicit && env.OUTPOST_URL) || _read(env).profiles[profileName(env, explicit)]?.url;
  const token = env.OUTPOST_ADMIN_TOKEN;
  if (!url || !token)
    throw new NotLoggedInError("tenant commands need OUTPOST_ADMIN_TOKEN (and OUTPOST_URL or a saved login)");
  return { url, token };
}
