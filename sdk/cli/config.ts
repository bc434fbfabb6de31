// Where `outpost login` keeps the control plane URL and API key: $XDG_CONFIG_HOME/outpost/config.json
// (default ~/.config), mode 0600 because it holds a secret. OUTPOST_URL / OUTPOST_TOKEN override it.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./usage-error.ts";

export interface SavedConfig {
  url?: string;
  token?: string;
}

/** $XDG_CONFIG_HOME/outpost (default ~/.config/outpost): the login, and secret keeper keys (keepers/). */
export function configDir(env = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config"), "outpost");
}

function configPath(env = process.env): string {
  return join(configDir(env), "config.json");
}

function readConfig(env = process.env): SavedConfig {
  try {
    return JSON.parse(readFileSync(configPath(env), "utf8")) as SavedConfig;
  } catch {
    return {};
  }
}

export function writeConfig(config: SavedConfig, env = process.env): string {
  const path = configPath(env);
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync's mode applies only when it creates the file
  return path;
}

/** The URL and tenant API key to use, from the environment first, then the saved login. */
export function credentials(env = process.env): { url: string; token: string } {
  const saved = readConfig(env);
  const url = env.OUTPOST_URL || saved.url;
  const token = env.OUTPOST_TOKEN || saved.token;
  if (!url || !token) {
    throw new UsageError(
      "not logged in: run 'outpost login <url> --token <key>' or set OUTPOST_URL and OUTPOST_TOKEN",
    );
  }
  return { url, token };
}

/** The platform admin credentials (tenant management): OUTPOST_ADMIN_TOKEN, URL as above. */
export function adminCredentials(env = process.env): { url: string; token: string } {
  const url = env.OUTPOST_URL || readConfig(env).url;
  const token = env.OUTPOST_ADMIN_TOKEN;
  if (!url || !token)
    throw new UsageError("tenant commands need OUTPOST_ADMIN_TOKEN (and OUTPOST_URL or a saved login)");
  return { url, token };
}
