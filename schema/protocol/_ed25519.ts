// Which ed25519 implementation to use, decided once per isolate. WebCrypto's native Ed25519 (workerd,
// Bun, Deno, Node ≥ 20) verifies an order of magnitude faster than pure JS; @noble/ed25519 covers
// runtimes without it and is the cross-check in tests. Detection runs RFC 8032 §7.1 test 1 through
// WebCrypto, so a runtime that has the algorithm name but gets the answer wrong is not used either.
// The memoised promise is a property of the runtime, not request state, so sharing it is safe.

import { _bufferSource, _equalBytes, _fromHex } from "./_bytes.ts";

export type Ed25519Backend = "webcrypto" | "noble";

export const _ED25519 = { name: "Ed25519" } as const;

// RFC 8032 §7.1, TEST 1 (empty message).
const RFC8032_SEED = _fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const RFC8032_PUBLIC = _fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const RFC8032_SIGNATURE = _fromHex(
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
);

let detected: Promise<Ed25519Backend> | undefined;

/** The backend Signer and Verifier use unless told otherwise: "webcrypto" when it works here. */
export function ed25519Backend(): Promise<Ed25519Backend> {
  detected ??= _detect();
  return detected;
}

async function _detect(): Promise<Ed25519Backend> {
  try {
    const subtle = globalThis.crypto?.subtle;
    if (subtle === undefined) return "noble";
    const empty = new Uint8Array(0);
    const privateKey = await subtle.importKey("pkcs8", _bufferSource(_pkcs8(RFC8032_SEED)), _ED25519, false, [
      "sign",
    ]);
    const signature = new Uint8Array(await subtle.sign(_ED25519, privateKey, empty));
    const publicKey = await subtle.importKey("raw", _bufferSource(RFC8032_PUBLIC), _ED25519, false, [
      "verify",
    ]);
    const verified = await subtle.verify(_ED25519, publicKey, _bufferSource(RFC8032_SIGNATURE), empty);
    return verified && _equalBytes(signature, RFC8032_SIGNATURE) ? "webcrypto" : "noble";
  } catch {
    return "noble";
  }
}

// PKCS #8 PrivateKeyInfo for an Ed25519 seed (RFC 8410 §7), fixed apart from the last 32 bytes:
//   30 2e                SEQUENCE, 46 bytes
//     02 01 00           INTEGER 0 (version v1)
//     30 05 06 03 2b6570 SEQUENCE { OID 1.3.101.112 id-Ed25519 } (no parameters, RFC 8410 §3)
//     04 22 04 20 <32>   OCTET STRING wrapping the CurvePrivateKey OCTET STRING (the seed)
const PKCS8_PREFIX = _fromHex("302e020100300506032b657004220420");

/** The PKCS #8 DER of a raw 32-byte seed, the only private key format WebCrypto imports for Ed25519. */
export function _pkcs8(seed: Uint8Array): Uint8Array {
  const der = new Uint8Array(PKCS8_PREFIX.length + seed.length);
  der.set(PKCS8_PREFIX);
  der.set(seed, PKCS8_PREFIX.length);
  return der;
}
