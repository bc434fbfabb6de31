// Recipients of sealed env values, and their X25519 keys (RFC 7748).
//
//   host_<22>          a host: its X25519 key is derived from its ed25519 key (birational map, RFC 7748
//                      §4.1; noble's toMontgomery), so a host needs no second key and the control plane
//                      can seal nothing a host's own key does not open. The private side is derived from
//                      the host's seed on the agent (toMontgomerySecret: the clamped first half of
//                      SHA-512(seed), RFC 8032 §5.1.5), and never leaves it.
//   keeperkey:<43>     a secret keeper: an X25519 key pair the CLI makes (`outpost keeper init`) and
//                      keeps in its config dir; the tenant registers only the public key.
//   keepersecret:<43>  a keeper's X25519 secret key, only ever in the keeper's file (mode 0600).
//
// Security: reusing the ed25519 key for X25519 is the same key in two protocols. Signatures (EdDSA) and
// ECDH do not interact in a way known to leak the key (this is the libsodium crypto_sign_ed25519_pk_to_
// curve25519 construction, also used by age's ssh-ed25519 recipients); DESIGN.md chose it so that a
// host is one key.

import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { _abytes, _fromBase64Url, _toBase64Url } from "../protocol/_bytes.ts";
import { type HostId, type HostPublicKey, isHostId, publicKeyBytes } from "../protocol/keys.ts";

// A phantom property, as schema/ids.ts has it: a private unique symbol cannot be named in the
// published SDK's declaration files.
type Brand<T, B extends string> = T & { readonly __brand: B };

export type KeeperPublicKey = Brand<`keeperkey:${string}`, "KeeperPublicKey">;
export type KeeperSecretKey = Brand<`keepersecret:${string}`, "KeeperSecretKey">;
/** Who a data key is sealed to: a host by id, a keeper by its public key. */
export type RecipientId = HostId | KeeperPublicKey;

const X25519_BYTES = 32;

// ## Helpers

function _parse(text: unknown, prefix: string, what: string, secret: boolean): Uint8Array {
  const shown =
    secret || typeof text !== "string" ? "" : ` "${text.length > 60 ? `${text.slice(0, 60)}…` : text}"`;
  if (typeof text !== "string" || !text.startsWith(prefix))
    throw new TypeError(
      `Cannot parse ${what}${shown}: expected "${prefix}" followed by 32 bytes of base64url`,
    );
  const bytes = _fromBase64Url(text.slice(prefix.length));
  if (bytes === undefined || bytes.length !== X25519_BYTES)
    throw new TypeError(
      `Cannot parse ${what}${shown}: expected "${prefix}" followed by 32 bytes of base64url`,
    );
  return bytes;
}

// ## Keepers

export function parseKeeperPublicKey(text: string): KeeperPublicKey {
  _parse(text, "keeperkey:", "keeper key", false);
  return text as KeeperPublicKey;
}

export function isKeeperPublicKey(text: unknown): text is KeeperPublicKey {
  try {
    _parse(text, "keeperkey:", "keeper key", false);
    return true;
  } catch {
    return false;
  }
}

export function keeperPublicKeyBytes(key: KeeperPublicKey): Uint8Array {
  return _parse(key, "keeperkey:", "keeper key", false);
}

/** The raw X25519 secret; the error never echoes the text (it is a secret). */
export function keeperSecretKeyBytes(key: KeeperSecretKey | string): Uint8Array {
  return _parse(key, "keepersecret:", "keeper secret key", true);
}

export function formatKeeperPublicKey(raw: Uint8Array): KeeperPublicKey {
  return `keeperkey:${_toBase64Url(_abytes(raw, X25519_BYTES, "keeper public key"))}` as KeeperPublicKey;
}

export function formatKeeperSecretKey(raw: Uint8Array): KeeperSecretKey {
  return `keepersecret:${_toBase64Url(_abytes(raw, X25519_BYTES, "keeper secret key"))}` as KeeperSecretKey;
}

/** A new keeper key pair; `secret` only for known-answer vectors. */
export function newKeeperKeyPair(secret?: Uint8Array): {
  publicKey: KeeperPublicKey;
  secretKey: KeeperSecretKey;
} {
  const raw = secret ? _abytes(secret, X25519_BYTES, "keeper secret") : x25519.utils.randomSecretKey();
  return {
    publicKey: formatKeeperPublicKey(x25519.getPublicKey(raw)),
    secretKey: formatKeeperSecretKey(raw),
  };
}

/** The public key that belongs to a keeper's secret key. */
export function keeperPublicKeyOf(secret: KeeperSecretKey): KeeperPublicKey {
  return formatKeeperPublicKey(x25519.getPublicKey(keeperSecretKeyBytes(secret)));
}

// ## Hosts

/** A host's X25519 public key, from its ed25519 public key. */
export function hostRecipientKey(hostKey: HostPublicKey): Uint8Array {
  return ed25519.utils.toMontgomery(publicKeyBytes(hostKey));
}

/** A host's X25519 secret key, from its ed25519 seed (on the agent only). */
export function hostRecipientSecret(seed: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomerySecret(_abytes(seed, 32, "seed"));
}

/** Parses a recipient id: `host_…` or `keeperkey:…`. */
export function parseRecipientId(text: string): RecipientId {
  if (isHostId(text)) return text;
  if (isKeeperPublicKey(text)) return text;
  throw new TypeError(`Cannot parse recipient: expected "host_…" or "keeperkey:…"`);
}
