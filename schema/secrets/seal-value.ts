// One env value: encrypted under its own random 32-byte data key with XChaCha20-Poly1305 (24-byte random
// nonce: at 192 bits, random nonces never collide in practice; and each key encrypts exactly one value),
// authenticated over the associated data (associated-data.ts), so it opens only as the variable, app,
// tenant and version it was set for. The data key is then sealed to each recipient (seal-key.ts).

import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { _abytes } from "../protocol/_bytes.ts";
import { type EnvBinding, envAssociatedData } from "./associated-data.ts";
import { DATA_KEY_BYTES, MAX_ENV_VALUE_BYTES, TAG_BYTES, VALUE_NONCE_BYTES } from "./limits.ts";

export interface SealedValue {
  ciphertext: Uint8Array;
  nonce: Uint8Array;
}

function _random(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * Encrypts `value` for `binding`; returns the ciphertext, its nonce and the data key (to seal to each
 * recipient, then drop). `random` only for known-answer vectors.
 */
export function sealEnvValue(
  binding: EnvBinding,
  value: string,
  random: (n: number) => Uint8Array = _random,
): SealedValue & { dataKey: Uint8Array } {
  const plaintext = new TextEncoder().encode(value);
  if (plaintext.length > MAX_ENV_VALUE_BYTES)
    throw new RangeError(
      `Cannot seal env ${binding.name}: its value is ${plaintext.length} bytes, more than ${MAX_ENV_VALUE_BYTES}`,
    );
  const dataKey = _abytes(random(DATA_KEY_BYTES), DATA_KEY_BYTES, "dataKey");
  const nonce = _abytes(random(VALUE_NONCE_BYTES), VALUE_NONCE_BYTES, "nonce");
  const ciphertext = xchacha20poly1305(dataKey, nonce, envAssociatedData(binding)).encrypt(plaintext);
  return { ciphertext, nonce, dataKey };
}

/** Decrypts a value with its data key; throws when the ciphertext, nonce or binding differ from the seal. */
export function openEnvValue(binding: EnvBinding, sealed: SealedValue, dataKey: Uint8Array): string {
  _abytes(sealed.nonce, VALUE_NONCE_BYTES, "nonce");
  if (sealed.ciphertext.length < TAG_BYTES || sealed.ciphertext.length > MAX_ENV_VALUE_BYTES + TAG_BYTES)
    throw new RangeError(`Cannot open env ${binding.name}: ciphertext of ${sealed.ciphertext.length} bytes`);
  const plaintext = xchacha20poly1305(dataKey, sealed.nonce, envAssociatedData(binding)).decrypt(
    sealed.ciphertext,
  );
  return new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
}
