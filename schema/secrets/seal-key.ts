// Sealing a value's data key to one recipient: ephemeral-static X25519 (RFC 7748 §6.1), HKDF-SHA256
// (RFC 5869), XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) — the shape of HPKE's base mode and of age.
//
//   e, E = fresh X25519 key pair (per seal)
//   shared = X25519(e, R)                       R = the recipient's X25519 public key
//   key ‖ nonce = HKDF-SHA256(ikm = shared, salt = empty,
//                             info = CBOR ["outpost env seal v1", E, R], 32 + 24 bytes)
//   sealed = E ‖ XChaCha20-Poly1305(key, nonce, aad = the value's associated data).encrypt(data key)
//
// Security choices:
// - A fresh e per seal, so key and nonce never repeat; deriving the nonce is therefore safe and saves
//   carrying one.
// - info binds E and R: a sealed key is bound to the recipient it was made for (a seal copied to another
//   recipient's row fails to open), and the aad binds it to tenant, app, name and version like the value.
// - A small-order R or E (an all-zero shared secret) is refused by noble's getSharedSecret (RFC 7748 §6.1).

import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { _abytes, _concatBytes } from "../protocol/_bytes.ts";
import { encodeCbor } from "../protocol/encode.ts";
import { DATA_KEY_BYTES, SEALED_KEY_BYTES, VALUE_NONCE_BYTES } from "./limits.ts";

const LABEL = "outpost env seal v1";
const X25519_BYTES = 32;

function _wrapKey(shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array) {
  const okm = hkdf(
    sha256,
    shared,
    undefined,
    encodeCbor([LABEL, ephemeral, recipient]),
    32 + VALUE_NONCE_BYTES,
  );
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32) };
}

/**
 * Seals `dataKey` to the recipient's X25519 public key, bound to `aad` (envAssociatedData).
 * `ephemeralSecret` only for known-answer vectors: every real seal draws a fresh one.
 */
export function sealDataKey(
  dataKey: Uint8Array,
  recipient: Uint8Array,
  aad: Uint8Array,
  ephemeralSecret?: Uint8Array,
): Uint8Array {
  _abytes(dataKey, DATA_KEY_BYTES, "dataKey");
  _abytes(recipient, X25519_BYTES, "recipient");
  const secret = ephemeralSecret
    ? _abytes(ephemeralSecret, X25519_BYTES, "ephemeralSecret")
    : x25519.utils.randomSecretKey();
  const ephemeral = x25519.getPublicKey(secret);
  const { key, nonce } = _wrapKey(x25519.getSharedSecret(secret, recipient), ephemeral, recipient);
  return _concatBytes(ephemeral, xchacha20poly1305(key, nonce, aad).encrypt(dataKey));
}

/** Opens a sealed data key with the recipient's X25519 secret key; throws when it was not sealed to it. */
export function openDataKey(sealed: Uint8Array, recipientSecret: Uint8Array, aad: Uint8Array): Uint8Array {
  _abytes(sealed, SEALED_KEY_BYTES, "sealedKey");
  _abytes(recipientSecret, X25519_BYTES, "recipientSecret");
  const ephemeral = sealed.subarray(0, X25519_BYTES);
  const recipient = x25519.getPublicKey(recipientSecret);
  const { key, nonce } = _wrapKey(x25519.getSharedSecret(recipientSecret, ephemeral), ephemeral, recipient);
  return xchacha20poly1305(key, nonce, aad).decrypt(sealed.subarray(X25519_BYTES));
}
