// The data keys' HMAC for both runtimes: node:crypto, synchronous (schema/protocol/data-key.ts says why
// not WebCrypto's here), fed part by part so a frame's bytes are never gathered into one buffer first.
// Loaded on first use: node:crypto alone is 5.6 MiB of an idle agent's RSS on Bun and 4.5 MiB on Deno
// (measured with test/agent-harness/idle-rss.ts), and only data frames need it (session.ts).
import type { HmacSha256 } from "../../schema/protocol/index.ts";

/** node:crypto's HMAC-SHA256, imported the first time it is asked for. */
export async function loadHmacSha256(): Promise<HmacSha256> {
  const { createHmac } = await import("node:crypto");
  return (key, parts) => {
    const h = createHmac("sha256", key);
    for (const part of parts) h.update(part);
    return h.digest();
  };
}
