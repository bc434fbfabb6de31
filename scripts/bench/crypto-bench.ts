// Frames signed and verified per second: WebCrypto Ed25519 against @noble/ed25519, same frames.
import { newConnectionId, openFrame, Signer, sealFrame, Verifier } from "../../schema/protocol/index.ts";
import type { Row } from "./table.ts";

async function rate(backend: "webcrypto" | "noble", seconds: number): Promise<number> {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const signer = await Signer.fromSeed(seed, { backend });
  const verifier = new Verifier(signer.publicKey, { backend });
  const ctx = { connectionId: newConnectionId(), direction: "agent>cp" as const };
  const data = crypto.getRandomValues(new Uint8Array(1024));
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  while (performance.now() < deadline && n < 1_000_000) {
    // 64 at a time, as on a busy connection where frames are in flight together.
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        const bytes = await sealFrame({ t: "stdout", seq: n + i + 1, sid: 1, data }, signer, ctx);
        await openFrame(bytes, verifier, ctx);
      }),
    );
    n += 64;
  }
  return n / ((performance.now() - started) / 1000);
}

export async function cryptoBench(): Promise<Row[]> {
  const web = await rate("webcrypto", 2);
  const noble = await rate("noble", 2);
  return [
    {
      what: "frames signed+verified /s (1 KiB, WebCrypto vs noble)",
      value: `${web.toFixed(0)}/s`,
      baseline: `${noble.toFixed(0)}/s`,
      ratio: `${(web / noble).toFixed(1)}x`,
      target: "WebCrypto faster",
      met: web > noble,
    },
  ];
}
