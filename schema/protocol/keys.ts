// Ids and keys are types, never bare strings or byte arrays (tailscale's key.NodePublic / "nodekey:").
// Each has one prefixed text form, so a log line or a database row says what it holds:
//
//   host_<22>      HostId        16 random bytes, base64url
//   conn_<22>      ConnectionId  16 random bytes, base64url; names one WebSocket connection
//   kid_<22>       KeyId         first 16 bytes of sha256(raw public key), base64url; COSE `kid`
//   hostkey:<43>   HostPublicKey          a host's raw 32-byte ed25519 public key, base64url
//   cpkey:<43>     ControlPlanePublicKey  the control plane's raw 32-byte ed25519 public key
//   privkey:<43>   SecretKey     a raw 32-byte ed25519 seed (RFC 8032 §5.1.5); only ever on its owner
//
// base64url is RFC 4648 §5 without padding, decoded strictly so each value has exactly one text form.

import { sha256 } from "@noble/hashes/sha2.js";
import { _abytes, _bufferSource, _fromBase64Url, _toBase64Url } from "./_bytes.ts";

// A phantom property (never present at run time) rather than a unique symbol: declaration files (the
// SDK package's .d.ts) must be able to name every branded type, and a module-private symbol cannot be.
type Brand<T, B extends string> = T & { readonly __brand: B };

export type HostId = Brand<`host_${string}`, "HostId">;
export type ConnectionId = Brand<`conn_${string}`, "ConnectionId">;
export type KeyId = Brand<`kid_${string}`, "KeyId">;
export type HostPublicKey = Brand<`hostkey:${string}`, "HostPublicKey">;
export type ControlPlanePublicKey = Brand<`cpkey:${string}`, "ControlPlanePublicKey">;
export type PublicKey = HostPublicKey | ControlPlanePublicKey;
export type SecretKey = Brand<`privkey:${string}`, "SecretKey">;

/** Raw sizes, in bytes. */
export const PUBLIC_KEY_BYTES = 32;
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const KEY_ID_BYTES = 16;
const RANDOM_ID_BYTES = 16;

// ## Helpers

function _parsePrefixed(text: unknown, prefix: string, length: number, what: string): Uint8Array {
  if (typeof text !== "string")
    throw new TypeError(`Cannot parse ${what}: expected a string, got ${typeof text}`);
  if (!text.startsWith(prefix)) {
    throw new TypeError(`Cannot parse ${what}: "${_clip(text)}" does not start with "${prefix}"`);
  }
  const bytes = _fromBase64Url(text.slice(prefix.length));
  if (bytes === undefined || bytes.length !== length) {
    throw new TypeError(
      `Cannot parse ${what}: "${_clip(text)}" is not "${prefix}" followed by ${length} bytes of base64url`,
    );
  }
  return bytes;
}

function _clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function _randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

// ## Ids

export function newHostId(): HostId {
  return `host_${_toBase64Url(_randomBytes(RANDOM_ID_BYTES))}` as HostId;
}

export function parseHostId(text: string): HostId {
  _parsePrefixed(text, "host_", RANDOM_ID_BYTES, "host id");
  return text as HostId;
}

export function isHostId(text: unknown): text is HostId {
  return _isValid(() => parseHostId(text as string));
}

export function newConnectionId(): ConnectionId {
  return `conn_${_toBase64Url(_randomBytes(RANDOM_ID_BYTES))}` as ConnectionId;
}

export function parseConnectionId(text: string): ConnectionId {
  _parsePrefixed(text, "conn_", RANDOM_ID_BYTES, "connection id");
  return text as ConnectionId;
}

export function isConnectionId(text: unknown): text is ConnectionId {
  return _isValid(() => parseConnectionId(text as string));
}

function _isValid(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

// ## Key ids

/** The key id of a public key: first 16 bytes of sha256(raw public key). */
export function keyIdOf(publicKey: Uint8Array | PublicKey): KeyId {
  const raw = typeof publicKey === "string" ? publicKeyBytes(publicKey) : _abytes(publicKey, 32, "publicKey");
  return keyIdFromBytes(sha256(raw).subarray(0, KEY_ID_BYTES));
}

/**
 * keyIdOf through WebCrypto's SHA-256, where a caller can wait: an agent that only starts then runs no
 * pure-JS SHA-256, whose hot loop alone makes the JIT compile it (about 2 MiB of an idle agent's RSS).
 */
export async function keyIdOfAsync(publicKey: Uint8Array): Promise<KeyId> {
  const raw = _abytes(publicKey, 32, "publicKey");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", _bufferSource(raw)));
  return keyIdFromBytes(digest.subarray(0, KEY_ID_BYTES));
}

/** The KeyId whose raw form (the COSE `kid` header) is `bytes`. */
export function keyIdFromBytes(bytes: Uint8Array): KeyId {
  return `kid_${_toBase64Url(_abytes(bytes, KEY_ID_BYTES, "key id"))}` as KeyId;
}

/** The raw 16 bytes of `kid`, as carried in the COSE `kid` header. */
export function keyIdBytes(kid: KeyId): Uint8Array {
  return _parsePrefixed(kid, "kid_", KEY_ID_BYTES, "key id");
}

export function parseKeyId(text: string): KeyId {
  keyIdBytes(text as KeyId);
  return text as KeyId;
}

// ## Public keys

export function formatHostKey(raw: Uint8Array): HostPublicKey {
  return `hostkey:${_toBase64Url(_abytes(raw, PUBLIC_KEY_BYTES, "publicKey"))}` as HostPublicKey;
}

export function formatControlPlaneKey(raw: Uint8Array): ControlPlanePublicKey {
  return `cpkey:${_toBase64Url(_abytes(raw, PUBLIC_KEY_BYTES, "publicKey"))}` as ControlPlanePublicKey;
}

export function parseHostKey(text: string): HostPublicKey {
  _parsePrefixed(text, "hostkey:", PUBLIC_KEY_BYTES, "host key");
  return text as HostPublicKey;
}

export function parseControlPlaneKey(text: string): ControlPlanePublicKey {
  _parsePrefixed(text, "cpkey:", PUBLIC_KEY_BYTES, "control plane key");
  return text as ControlPlanePublicKey;
}

/** Parses either kind of public key; the prefix says which. */
export function parsePublicKey(text: string): PublicKey {
  if (typeof text === "string" && text.startsWith("cpkey:")) return parseControlPlaneKey(text);
  if (typeof text === "string" && text.startsWith("hostkey:")) return parseHostKey(text);
  throw new TypeError(
    `Cannot parse public key: "${_clip(String(text))}" starts with neither "hostkey:" nor "cpkey:"`,
  );
}

/** The raw 32 bytes of a public key. */
export function publicKeyBytes(key: PublicKey): Uint8Array {
  return key.startsWith("cpkey:")
    ? _parsePrefixed(key, "cpkey:", PUBLIC_KEY_BYTES, "control plane key")
    : _parsePrefixed(key, "hostkey:", PUBLIC_KEY_BYTES, "host key");
}

// ## Secret keys

export function formatSecretKey(seed: Uint8Array): SecretKey {
  return `privkey:${_toBase64Url(_abytes(seed, SEED_BYTES, "seed"))}` as SecretKey;
}

/** The raw 32-byte seed of a secret key. */
export function secretKeyBytes(text: SecretKey | string): Uint8Array {
  // Never echo a secret back in an error message.
  try {
    return _parsePrefixed(text, "privkey:", SEED_BYTES, "secret key");
  } catch {
    throw new TypeError('Cannot parse secret key: expected "privkey:" followed by 32 bytes of base64url');
  }
}
