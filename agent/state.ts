// The agent's state directory: who this host is, and its key; one identity per enrollment.
//
//   host.key     "privkey:…", the 32-byte ed25519 seed (keys.ts), mode 0600; never sent anywhere
//   state.json   { hostId, name, cluster, site, url, controlPlaneKey, enrolledAt }, the control plane's
//                key pinned at enrollment: every frame it sends must verify with it
//   status.json  what `run` last saw of this identity's connection (connected, or the last error; since)
//   identities/<host id>/   each further identity (another cluster, or another control plane): its own
//                host.key, state.json, status.json, apps/ and ledger/
//
// The first identity lives at the top, as a single-identity agent always kept it, so a state dir
// enrolled by an older agent is read as it is, with no migration. Directories are created 0700.
// state.json is written last, so it existing means enrollment finished.

import { readdir, rm } from "node:fs/promises";

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
const STATUS_FILE = "status.json";
const IDENTITIES_DIR = "identities";

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
async function readState(runtime: Runtime, dir: string): Promise<AgentState | undefined> {
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

/** One enrollment of this agent: where its files live, and who it is there. */
export interface Identity {
  dir: string;
  state: AgentState;
}

/** Every identity in `stateDir`: the top one first (the single-identity layout), then identities/. */
export async function listIdentities(runtime: Runtime, stateDir: string): Promise<Identity[]> {
  const identities: Identity[] = [];
  const top = await readState(runtime, stateDir);
  if (top !== undefined) identities.push({ dir: stateDir, state: top });
  const parent = statePath(stateDir, IDENTITIES_DIR);
  let names: string[] = [];
  try {
    names = (await readdir(parent)).sort();
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") {
      throw new AgentError(
        `cannot read ${parent} (${_why(error)})`,
        "check the --state-dir and its permissions",
      );
    }
  }
  for (const name of names) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) continue; // temporary files, editors' backups
    const dir = statePath(parent, name);
    const state = await readState(runtime, dir);
    if (state !== undefined) identities.push({ dir, state });
  }
  return identities;
}

/** Where a further identity of `stateDir` is kept: identities/<host id>. */
export function identityDir(stateDir: string, hostId: HostId): string {
  return statePath(statePath(stateDir, IDENTITIES_DIR), hostId);
}

/**
 * Removes an identity: its state first (so a crash halfway leaves it not enrolled rather than
 * half-there), then its key; a further identity's directory goes with them (its apps and ledger).
 */
export async function removeIdentity(runtime: Runtime, stateDir: string, identity: Identity): Promise<void> {
  await runtime.remove(statePath(identity.dir, STATE_FILE));
  await runtime.remove(statePath(identity.dir, KEY_FILE));
  await runtime.remove(statePath(identity.dir, STATUS_FILE));
  if (identity.dir !== stateDir) await rm(identity.dir, { recursive: true, force: true });
}

/** What `run` last saw of an identity's connection, for `status`. */
export interface IdentityStatus {
  connected: boolean;
  /** The last error, when not connected (one line). */
  error?: string;
  /** ISO 8601: when it became so. */
  since: string;
}

export async function writeStatus(runtime: Runtime, dir: string, status: IdentityStatus): Promise<void> {
  await runtime.writeFile(statePath(dir, STATUS_FILE), `${JSON.stringify(status)}\n`, { mode: 0o600 });
}

/** The identity's last status, or undefined when `run` never wrote one (or it is unreadable). */
export async function readStatus(runtime: Runtime, dir: string): Promise<IdentityStatus | undefined> {
  try {
    const text = await runtime.readTextFile(statePath(dir, STATUS_FILE));
    if (text === undefined) return undefined;
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v.connected !== "boolean" || typeof v.since !== "string") return undefined;
    return {
      connected: v.connected,
      since: v.since,
      ...(typeof v.error === "string" ? { error: v.error } : {}),
    };
  } catch {
    return undefined;
  }
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
