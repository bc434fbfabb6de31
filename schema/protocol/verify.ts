// Verifying ed25519 signatures (RFC 8032 §5.1.7) against one public key. A Verifier imports its key on
// first use and keeps the CryptoKey, so the hot path is one WebCrypto call per frame.

import * as ed from "@noble/ed25519";
import { _abytes, _bufferSource } from "./_bytes.ts";
import { _ED25519, type Ed25519Backend, ed25519Backend } from "./_ed25519.ts";
import {
  type KeyId,
  keyIdOf,
  keyIdOfAsync,
  PUBLIC_KEY_BYTES,
  type PublicKey,
  publicKeyBytes,
  SIGNATURE_BYTES,
} from "./keys.ts";

/** Verifier.create's key id, computed before the constructor runs; not for callers to set. */
const KEY_ID = Symbol("keyId");

export interface VerifierOptions {
  /** Force a backend (tests cross-check them); by default the fastest one that works here. */
  backend?: Ed25519Backend;
}

export class Verifier {
  readonly publicKey: Uint8Array;
  readonly keyId: KeyId;
  readonly #backend: Ed25519Backend | undefined;
  #key: Promise<CryptoKey | undefined> | undefined;

  /** The same Verifier, its key id computed by WebCrypto (keyIdOfAsync says why). */
  static async create(publicKey: Uint8Array | PublicKey, options: VerifierOptions = {}): Promise<Verifier> {
    const raw = typeof publicKey === "string" ? publicKeyBytes(publicKey) : publicKey;
    const keyId = await keyIdOfAsync(raw);
    return new Verifier(raw, { ...options, [KEY_ID]: keyId });
  }

  constructor(publicKey: Uint8Array | PublicKey, options: VerifierOptions & { [KEY_ID]?: KeyId } = {}) {
    const raw =
      typeof publicKey === "string"
        ? publicKeyBytes(publicKey)
        : _abytes(publicKey, PUBLIC_KEY_BYTES, "publicKey").slice();
    // Security: refuse non-canonical, off-curve and small-order keys up front. Backends disagree on
    // them (noble's strict mode rejects small-order keys, OpenSSL does not), and a small-order key
    // lets one signature verify for many messages. Checked once here, not per frame.
    let valid = false;
    try {
      valid = !ed.Point.fromBytes(raw).isSmallOrder();
    } catch {}
    if (!valid) throw new RangeError("Cannot use publicKey: not a valid ed25519 public key");
    this.publicKey = raw;
    this.keyId = options[KEY_ID] ?? keyIdOf(raw);
    this.#backend = options.backend;
  }

  /** Whether `signature` is a valid ed25519 signature of `message` by this key. */
  async verify(signature: Uint8Array, message: Uint8Array): Promise<boolean> {
    _abytes(signature, SIGNATURE_BYTES, "signature");
    _abytes(message, undefined, "message");
    const backend = this.#backend ?? (await ed25519Backend());
    if (backend === "noble") {
      // zip215: false is RFC 8032 / FIPS 186-5 verification, the same rule WebCrypto applies.
      return ed.verifyAsync(signature, message, this.publicKey, { zip215: false });
    }
    this.#key ??= crypto.subtle
      .importKey("raw", _bufferSource(this.publicKey), _ED25519, false, ["verify"])
      .catch(() => undefined);
    const key = await this.#key;
    return (
      key !== undefined &&
      crypto.subtle.verify(_ED25519, key, _bufferSource(signature), _bufferSource(message))
    );
  }
}
