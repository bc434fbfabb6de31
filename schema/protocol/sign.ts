// Signing with a host's or the control plane's ed25519 key (RFC 8032 Ed25519, pure, no context).
// A Signer imports its key once and keeps it: WebCrypto's CryptoKey, or the seed for noble.

import * as ed from "@noble/ed25519";
import { _abytes, _bufferSource, _fromBase64Url } from "./_bytes.ts";
import { _ED25519, _pkcs8, type Ed25519Backend, ed25519Backend } from "./_ed25519.ts";
import { type KeyId, keyIdOf, keyIdOfAsync, PUBLIC_KEY_BYTES, SEED_BYTES } from "./keys.ts";

export interface KeyPair {
  /** The raw 32-byte secret seed. Store it mode 0600 (see formatSecretKey); it never leaves the host. */
  seed: Uint8Array;
  /** The raw 32-byte public key. */
  publicKey: Uint8Array;
}

/** A fresh ed25519 key pair from the platform's CSPRNG. */
export async function generateKeyPair(): Promise<KeyPair> {
  const seed = crypto.getRandomValues(new Uint8Array(SEED_BYTES));
  return { seed, publicKey: await ed.getPublicKeyAsync(seed) };
}

export interface SignerOptions {
  /** Force a backend (tests cross-check them); by default the fastest one that works here. */
  backend?: Ed25519Backend;
}

export class Signer {
  readonly publicKey: Uint8Array;
  readonly keyId: KeyId;
  readonly backend: Ed25519Backend;
  readonly #seed: Uint8Array | undefined;
  readonly #key: CryptoKey | undefined;

  private constructor(
    publicKey: Uint8Array,
    backend: Ed25519Backend,
    seed?: Uint8Array,
    key?: CryptoKey,
    keyId: KeyId = keyIdOf(publicKey),
  ) {
    this.publicKey = publicKey;
    this.keyId = keyId;
    this.backend = backend;
    this.#seed = seed;
    this.#key = key;
  }

  /** A Signer for the raw 32-byte `seed`. */
  static async fromSeed(seed: Uint8Array, options: SignerOptions = {}): Promise<Signer> {
    _abytes(seed, SEED_BYTES, "seed");
    const backend = options.backend ?? (await ed25519Backend());
    if (backend === "noble") return new Signer(await ed.getPublicKeyAsync(seed), backend, seed.slice());
    const pkcs8 = _bufferSource(_pkcs8(seed));
    const key = await crypto.subtle.importKey("pkcs8", pkcs8, _ED25519, false, ["sign"]);
    // The public key from WebCrypto too (JWK `x`, RFC 8037 §2), through a second, throwaway key so that
    // the one kept stays non-extractable: noble's first base-point multiplication precomputes a table
    // of about 17k BigInts that an agent would otherwise carry, idle, for its whole life.
    const exportable = await crypto.subtle.importKey("pkcs8", pkcs8, _ED25519, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", exportable);
    const publicKey = jwk.x === undefined ? undefined : _fromBase64Url(jwk.x);
    if (publicKey?.length !== PUBLIC_KEY_BYTES) {
      throw new TypeError("Cannot import seed: WebCrypto exported no 32-byte Ed25519 public key");
    }
    return new Signer(publicKey, backend, undefined, key, await keyIdOfAsync(publicKey));
  }

  /** The 64-byte signature of `message`. */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    _abytes(message, undefined, "message");
    if (this.#key !== undefined)
      return new Uint8Array(await crypto.subtle.sign(_ED25519, this.#key, _bufferSource(message)));
    return ed.signAsync(message, this.#seed!);
  }
}
