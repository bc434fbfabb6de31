// The agent's state directory: who this host is, and its key.
//
//   host.key     "privkey:…", the 32-byte ed25519 seed (keys.ts), mode 0600; never sent anywhere
//   state.json   { hostId, name, cluster, site, url, controlPlaneKey, enrolledAt }, the control plane's
//                key pinned at enrollment: every frame it sends must verify with it
//
// The directory is created 0700. state.json is written last, so it existing means enrollment finished.

import {
  type ControlPlanePublicKey,
  formatSecretKey,
  type HostId,
  parseControlPlaneKey,
  parseHostId,
  secretKeyBytes,
} from "../schema/protocol/index.ts";
import { AgentError } from "./errors.ts";
import type { Runtime } from "./runtime/index.ts";

const KEY_FILE = "host.key";
const STATE_FILE = "state.json";

export interface AgentState {
  hostId: HostId;
  name: string;
  cluster: string;
  site: string;
  /** The control plane's base URL, http(s)://…, as given to enroll. */
  url: string;
  controlPlaneKey: ControlPlanePublicKey;
  /** ISO 8601. */
  enrolledAt: string;
}

/** `$OUTPOST_STATE_DIR`, else `~/.outpost-agent`. */
export function defaultStateDir(runtime: Pick<Runtime, "env">, home: string): string {
  return runtime.env("OUTPOST_STATE_DIR") || `${runtime.env("HOME") || home}/.outpost-agent`;
}

function statePath(dir: string, file: string): string {
  return `${dir.replace(/\/+$/, "") || "/"}/${file}`.replace(/^\/\//, "/");
}

/** The state in `dir`, or undefined when this directory holds no enrollment. */
export async function readState(runtime: Runtime, dir: string): Promise<AgentState | undefined> {
  const path = statePath(dir, STATE_FILE);
  let text: string | undefined;
  try {
    text = await runtime.readTextFile(path);
  } catch (error) {
    throw new AgentError(`cannot read ${path} (${_why(error)})`, "check the --state-dir and its permissions");
  }
  if (text === undefined) return undefined;
  try {
    return _parseState(JSON.parse(text));
  } catch (error) {
    throw new AgentError(`${path} is damaged (${_why(error)})`, "enroll again with a new token and --force");
  }
}

/** The state and the host's secret seed; throws AgentError when `dir` holds no enrollment. */
export async function loadIdentity(
  runtime: Runtime,
  dir: string,
): Promise<{ state: AgentState; seed: Uint8Array }> {
  const state = await readState(runtime, dir);
  if (state === undefined) {
    throw new AgentError(
      `this host is not enrolled (no ${STATE_FILE} in ${dir})`,
      "run 'outpost-agent enroll --url <control plane> --token <token> --name <name>' first",
    );
  }
  const path = statePath(dir, KEY_FILE);
  let text: string | undefined;
  try {
    text = await runtime.readTextFile(path);
  } catch (error) {
    throw new AgentError(`cannot read ${path} (${_why(error)})`, "check the --state-dir and its permissions");
  }
  if (text === undefined) {
    throw new AgentError(`the host key ${path} is missing`, "enroll again with a new token and --force");
  }
  try {
    return { state, seed: secretKeyBytes(text.trim()) };
  } catch {
    // Never echo the file: it is a secret.
    throw new AgentError(`the host key ${path} is damaged`, "enroll again with a new token and --force");
  }
}

/** Writes the key, then the state; each atomically. */
export async function saveIdentity(
  runtime: Runtime,
  dir: string,
  state: AgentState,
  seed: Uint8Array,
): Promise<void> {
  await runtime.mkdir(dir, { mode: 0o700 });
  await runtime.writeFile(statePath(dir, KEY_FILE), `${formatSecretKey(seed)}\n`, { mode: 0o600 });
  await runtime.writeFile(statePath(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

function _parseState(value: unknown): AgentState {
  if (value === null || typeof value !== "object") throw new TypeError("not a JSON object");
  const v = value as Record<string, unknown>;
  const text = (key: string): string => {
    if (typeof v[key] !== "string" || v[key] === "") throw new TypeError(`${key} is missing`);
    return v[key] as string;
  };
  return {
    hostId: parseHostId(text("hostId")),
    name: text("name"),
    cluster: text("cluster"),
    site: text("site"),
    url: _httpUrl(text("url")),
    controlPlaneKey: parseControlPlaneKey(text("controlPlaneKey")),
    enrolledAt: text("enrolledAt"),
  };
}

function _httpUrl(text: string): string {
  const url = new URL(text);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new TypeError(`url ${text} is not http(s)`);
  return text;
}

function _why(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
