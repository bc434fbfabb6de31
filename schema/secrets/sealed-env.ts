// Contract 4: the env of one app as one host receives it. Each entry is one variable at one version:
// its ciphertext and nonce (the same for every recipient) and its data key sealed to THIS host. The
// HostDO carries a list of them in the workload frame (CBOR); the agent opens them (openSealedEnv) just
// before it starts a release.
//
//   { "name": tstr, "version": uint, "ciphertext": bstr, "nonce": bstr .size 24, "sealedKey": bstr .size 80 }
//
// Decoding is strict like every frame: a map with exactly these keys, each of its type and size, names
// that are env names, no name twice. Hostile input gets a TypeError naming the field, never a crash.

import { _typeName } from "../protocol/_bytes.ts";
import type { CborMap, CborValue } from "../protocol/cbor-value.ts";
import { envAssociatedData } from "./associated-data.ts";
import { checkEnvName } from "./env-name.ts";
import {
  MAX_ENV_VALUE_BYTES,
  MAX_ENV_VARS,
  MAX_ENV_VERSION,
  SEALED_KEY_BYTES,
  TAG_BYTES,
  VALUE_NONCE_BYTES,
} from "./limits.ts";
import { openDataKey } from "./seal-key.ts";
import { openEnvValue } from "./seal-value.ts";

export interface SealedEnvEntry {
  name: string;
  version: number;
  ciphertext: Uint8Array;
  nonce: Uint8Array;
  /** The data key sealed to one recipient (seal-key.ts). */
  sealedKey: Uint8Array;
}

/** An entry that did not open: `variable` names it, the message says why (never the value). */
export class EnvOpenError extends Error {
  override name = "EnvOpenError";
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

const KEYS = ["name", "version", "ciphertext", "nonce", "sealedKey"] as const;

function _bytesField(map: CborMap, key: string, min: number, max: number, at: string): Uint8Array {
  const value = map.get(key);
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) {
    const size = min === max ? `${min} bytes` : `${min}..${max} bytes`;
    const got = value instanceof Uint8Array ? `${value.length} bytes` : _typeName(value);
    throw new TypeError(`Cannot decode sealed env: ${at}.${key} must be ${size}, got ${got}`);
  }
  return value;
}

/** One entry from its decoded CBOR form. */
export function decodeSealedEnvEntry(value: CborValue, at = "entry"): SealedEnvEntry {
  if (!(value instanceof Map))
    throw new TypeError(`Cannot decode sealed env: ${at} must be a map, got ${_typeName(value)}`);
  for (const key of value.keys()) {
    if (!(KEYS as readonly unknown[]).includes(key))
      throw new TypeError(
        `Cannot decode sealed env: ${at} has an unknown key ${JSON.stringify(String(key).slice(0, 40))}`,
      );
  }
  const name = value.get("name");
  try {
    checkEnvName(name);
  } catch (error) {
    throw new TypeError(`Cannot decode sealed env: ${at}.name: ${(error as Error).message}`);
  }
  const version = value.get("version");
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1 || version > MAX_ENV_VERSION)
    throw new TypeError(
      `Cannot decode sealed env: ${at}.version must be an integer in 1..${MAX_ENV_VERSION}`,
    );
  return {
    name: name as string,
    version,
    ciphertext: _bytesField(value, "ciphertext", TAG_BYTES, MAX_ENV_VALUE_BYTES + TAG_BYTES, at),
    nonce: _bytesField(value, "nonce", VALUE_NONCE_BYTES, VALUE_NONCE_BYTES, at),
    sealedKey: _bytesField(value, "sealedKey", SEALED_KEY_BYTES, SEALED_KEY_BYTES, at),
  };
}

/** A whole list: at most MAX_ENV_VARS entries, each name once. */
export function decodeSealedEnv(value: CborValue): SealedEnvEntry[] {
  if (!Array.isArray(value))
    throw new TypeError(`Cannot decode sealed env: expected an array, got ${_typeName(value)}`);
  if (value.length > MAX_ENV_VARS)
    throw new TypeError(`Cannot decode sealed env: ${value.length} entries, more than ${MAX_ENV_VARS}`);
  const seen = new Set<string>();
  return (value as CborValue[]).map((item, i) => {
    const entry = decodeSealedEnvEntry(item, `entry ${i}`);
    if (seen.has(entry.name)) throw new TypeError(`Cannot decode sealed env: ${entry.name} appears twice`);
    seen.add(entry.name);
    return entry;
  });
}

/** The CBOR form decodeSealedEnvEntry reads. */
export function encodeSealedEnvEntry(entry: SealedEnvEntry): CborMap {
  return new Map<string, CborValue>([
    ["name", entry.name],
    ["version", entry.version],
    ["ciphertext", entry.ciphertext],
    ["nonce", entry.nonce],
    ["sealedKey", entry.sealedKey],
  ]);
}

/**
 * Opens every entry with the recipient's X25519 secret key, bound to tenant and app. Throws EnvOpenError
 * naming the first variable that does not open: sealed to someone else, tampered with, or moved from
 * another tenant, app, variable or version.
 */
export function openSealedEnv(
  entries: readonly SealedEnvEntry[],
  recipientSecret: Uint8Array,
  scope: { tenantId: string; app: string },
): Record<string, string> {
  const env: Record<string, string> = Object.create(null);
  for (const entry of entries) {
    const binding = { tenantId: scope.tenantId, app: scope.app, name: entry.name, version: entry.version };
    let dataKey: Uint8Array;
    try {
      dataKey = openDataKey(entry.sealedKey, recipientSecret, envAssociatedData(binding));
    } catch {
      throw new EnvOpenError(
        entry.name,
        `Cannot open env ${entry.name} (version ${entry.version}) of ${scope.app}: its key is not sealed to this host, or was moved or altered`,
      );
    }
    try {
      env[entry.name] = openEnvValue(binding, entry, dataKey);
    } catch {
      throw new EnvOpenError(
        entry.name,
        `Cannot open env ${entry.name} (version ${entry.version}) of ${scope.app}: its ciphertext was moved or altered`,
      );
    } finally {
      dataKey.fill(0);
    }
  }
  return env;
}
