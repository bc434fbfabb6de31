// Sign / verify / openFrame rates per backend: npx vitest bench --run schema/protocol
// (DESIGN.md's "Crypto choices" numbers come from here.) Sequential WebCrypto calls are bound by the
// hop to the runtime's crypto thread; many in flight, as on a busy connection, go 2–3× faster.

import { bench, describe } from "vitest";
import { openFrame, sealFrame } from "./envelope.ts";
import { newConnectionId } from "./keys.ts";
import { Signer } from "./sign.ts";
import { Verifier } from "./verify.ts";

const seed = new Uint8Array(32).fill(1);
const message = new Uint8Array(200).fill(7);
const webSigner = await Signer.fromSeed(seed, { backend: "webcrypto" });
const nobleSigner = await Signer.fromSeed(seed, { backend: "noble" });
const webVerifier = new Verifier(webSigner.publicKey, { backend: "webcrypto" });
const nobleVerifier = new Verifier(webSigner.publicKey, { backend: "noble" });
const signature = await webSigner.sign(message);
const ctx = { connectionId: newConnectionId(), direction: "agent>cp" as const };
const frame = await sealFrame({ t: "stdout", seq: 1, sid: 1, data: new Uint8Array(1024) }, webSigner, ctx);

describe("sign", () => {
  bench("webcrypto", () => webSigner.sign(message).then(() => {}));
  bench("noble", () => nobleSigner.sign(message).then(() => {}));
});

describe("verify", () => {
  bench("webcrypto", () => webVerifier.verify(signature, message).then(() => {}));
  bench("webcrypto, 64 in flight (one op = 64 verifies)", () =>
    Promise.all(Array.from({ length: 64 }, () => webVerifier.verify(signature, message))).then(() => {}),
  );
  bench("noble", () => nobleVerifier.verify(signature, message).then(() => {}));
});

describe("openFrame (1 KiB stdout frame)", () => {
  bench("webcrypto", () => openFrame(frame, webVerifier, ctx).then(() => {}));
  bench("noble", () => openFrame(frame, nobleVerifier, ctx).then(() => {}));
});
