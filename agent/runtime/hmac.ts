// The data keys' HMAC for both runtimes: node:crypto, synchronous (schema/protocol/data-key.ts says why
// not WebCrypto's here), fed part by part so a frame's bytes are never gathered into one buffer first.
import { createHmac } from "node:crypto";

export function hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac("sha256", key);
  for (const part of parts) h.update(part);
  return h.digest();
}
