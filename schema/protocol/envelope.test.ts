import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { anyFrameArb } from "./_arbitraries.ts";
import { _toHex } from "./_bytes.ts";
import type { CborValue } from "./cbor-value.ts";
import { closeCodeFor } from "./close-codes.ts";
import { decodeCbor } from "./decode.ts";
import { encodeCbor } from "./encode.ts";
import { _sealPayload, type FrameContext, openFrame, sealFrame } from "./envelope.ts";
import { ProtocolError } from "./errors.ts";
import { encodeFrame } from "./frame-codec.ts";
import type { Frame } from "./frames.ts";
import { type ConnectionId, keyIdBytes, newConnectionId } from "./keys.ts";
import { MAX_MESSAGE_BYTES } from "./limits.ts";
import { SequenceWindow } from "./sequence.ts";
import { Signer } from "./sign.ts";
import { Verifier } from "./verify.ts";

let agent: Signer;
let cp: Signer;
let agentKey: Verifier;
const conn = "conn_AAAAAAAAAAAAAAAAAAAAAA" as ConnectionId;
const up: FrameContext<"agent>cp"> = { connectionId: conn, direction: "agent>cp" };
const ping: Frame = { t: "ping", seq: 1, time: 1_700_000_000_000 };

beforeAll(async () => {
  agent = await Signer.fromSeed(new Uint8Array(32).fill(1));
  cp = await Signer.fromSeed(new Uint8Array(32).fill(2));
  agentKey = new Verifier(agent.publicKey);
});

async function refusal(promise: Promise<unknown>): Promise<ProtocolError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error("expected the message to be refused");
}

describe("sealFrame / openFrame", () => {
  it("writes a tagged COSE_Sign1 with alg EdDSA and the signer's kid", async () => {
    const message = await sealFrame(ping, agent, up);
    expect(message[0]).toBe(0xd2); // tag 18
    const [protectedHeader, unprotected, payload, signature] = decodeCbor(message, {
      tag: 18,
    }) as CborValue[];
    expect(_toHex(protectedHeader as Uint8Array)).toBe("a10127");
    expect(unprotected).toEqual(new Map([[4, keyIdBytes(agent.keyId)]]));
    expect(payload).toEqual(encodeFrame(ping, "agent>cp"));
    expect(signature).toHaveLength(64);
    expect(await openFrame(message, agentKey, up)).toEqual(ping);
    expect(await openFrame(message.buffer as ArrayBuffer, agentKey, up)).toEqual(ping);
    expect(await openFrame(message, () => agentKey, up)).toEqual(ping);
    expect(await openFrame(message, async () => agentKey, up)).toEqual(ping);
  });

  it("round-trips random frames through both backends", async () => {
    const noble = new Verifier(agent.publicKey, { backend: "noble" });
    await fc.assert(
      fc.asyncProperty(anyFrameArb, async ({ frame, direction }) => {
        const ctx = { connectionId: conn, direction };
        const message = await sealFrame(frame, agent, ctx);
        expect(await openFrame(message, agentKey, ctx)).toEqual(frame);
        expect(await openFrame(message, noble, ctx)).toEqual(frame);
      }),
      { numRuns: 200 },
    );
  });

  it("binds a frame to its connection and direction", async () => {
    const message = await sealFrame(ping, agent, up);
    const other = await refusal(openFrame(message, agentKey, { ...up, connectionId: newConnectionId() }));
    expect(other.code).toBe("bad_signature");
    expect(closeCodeFor(other)).toBe(4401);
    const reflected = await refusal(openFrame(message, agentKey, { ...up, direction: "cp>agent" }));
    expect(reflected.code).toBe("bad_signature");
    expect(reflected.message).toMatch(
      /^Cannot open frame: signature by kid_\S+ does not verify for conn_\S+ cp>agent$/,
    );
  });

  it("refuses keys it does not know", async () => {
    const message = await sealFrame(ping, cp, up);
    const pinned = await refusal(openFrame(message, agentKey, up));
    expect(pinned.code).toBe("unknown_key");
    expect(pinned.message).toBe(`Cannot open frame: no key ${cp.keyId} on this connection`);
    expect((await refusal(openFrame(message, () => undefined, up))).code).toBe("unknown_key");
    // A lookup that answers with the wrong key for the kid is not trusted either.
    expect((await refusal(openFrame(message, () => agentKey, up))).code).toBe("unknown_key");
  });

  it("refuses any change to a sealed message", async () => {
    const message = await sealFrame({ t: "data", seq: 1, sid: 2, data: new Uint8Array(8) }, agent, up);
    for (let i = 0; i < message.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = message.slice();
        tampered[i]! ^= bit;
        const error = await refusal(openFrame(tampered, agentKey, up));
        expect(["malformed", "unknown_frame", "unknown_key", "bad_signature"]).toContain(error.code);
      }
    }
  });

  it("refuses replays with the guard, after verifying", async () => {
    const guard = new SequenceWindow();
    const first = await sealFrame(ping, agent, up);
    const second = await sealFrame({ ...ping, seq: 2 }, agent, up);
    await openFrame(first, agentKey, { ...up, guard });
    await openFrame(second, agentKey, { ...up, guard });
    const replay = await refusal(openFrame(first, agentKey, { ...up, guard }));
    expect(replay.code).toBe("replay");
    expect(replay.message).toBe("Cannot accept frame: sequence number 1 is not above 2");
    expect(closeCodeFor(replay)).toBe(4409);
    // A forged frame does not move the window.
    const forged = await sealFrame({ ...ping, seq: 99 }, cp, up);
    await refusal(
      openFrame(forged, () => new Verifier(cp.publicKey), { ...up, connectionId: newConnectionId(), guard }),
    );
    expect(guard.last).toBe(2);
  });

  it("refuses other COSE shapes", async () => {
    const payload = encodeFrame(ping, "agent>cp");
    const kid = keyIdBytes(agent.keyId);
    const sig = new Uint8Array(64);
    const tagged = (items: CborValue[]) => Uint8Array.of(0xd2, ...encodeCbor(items));
    const cases: [Uint8Array, RegExp][] = [
      [
        encodeCbor([Uint8Array.of(0xa1, 0x01, 0x27), new Map([[4, kid]]), payload, sig]),
        /expected tag 18, got major type 4/,
      ],
      [
        tagged([Uint8Array.of(0xa1, 0x01, 0x26), new Map([[4, kid]]), payload, sig]),
        /protected header must be exactly/,
      ],
      [tagged([new Uint8Array(0), new Map([[4, kid]]), payload, sig]), /protected header must be exactly/],
      [
        tagged([Uint8Array.of(0xa1, 0x01, 0x27), new Map(), payload, sig]),
        /unprotected header must be exactly/,
      ],
      [
        tagged([
          Uint8Array.of(0xa1, 0x01, 0x27),
          new Map<number, CborValue>([
            [1, -8],
            [4, kid],
          ]),
          payload,
          sig,
        ]),
        /unprotected header/,
      ],
      [
        tagged([Uint8Array.of(0xa1, 0x01, 0x27), new Map([[4, kid.subarray(1)]]), payload, sig]),
        /kid of 16 bytes/,
      ],
      [
        tagged([Uint8Array.of(0xa1, 0x01, 0x27), new Map([[4, kid]]), null, sig]),
        /payload must be a byte string/,
      ],
      [
        tagged([Uint8Array.of(0xa1, 0x01, 0x27), new Map([[4, kid]]), payload, sig.subarray(1)]),
        /signature must be 64 bytes/,
      ],
      [tagged([Uint8Array.of(0xa1, 0x01, 0x27), new Map([[4, kid]]), payload]), /array of 4 items/],
    ];
    for (const [message, why] of cases) {
      const error = await refusal(openFrame(message, agentKey, up));
      expect(error.code).toBe("malformed");
      expect(error.message).toMatch(why);
    }
    const text = await refusal(openFrame("hello" as unknown as Uint8Array, agentKey, up));
    expect(text.message).toBe("Cannot decode frame: expected a binary message, got string");
  });

  it("refuses messages over MAX_MESSAGE_BYTES, on both ends", async () => {
    const big = new Uint8Array(MAX_MESSAGE_BYTES + 1);
    const error = await refusal(openFrame(big, agentKey, up));
    expect(error.code).toBe("too_big");
    expect(closeCodeFor(error)).toBe(4413);
    await expect(_sealPayload(new Uint8Array(MAX_MESSAGE_BYTES), agent, up)).rejects.toThrow(RangeError);
  });

  it("checks its context argument", async () => {
    await expect(
      sealFrame(ping, agent, { connectionId: "c1" as ConnectionId, direction: "agent>cp" }),
    ).rejects.toThrow("Cannot parse connection id");
    await expect(
      sealFrame(ping, agent, { connectionId: conn, direction: "up" as unknown as "agent>cp" }),
    ).rejects.toThrow(TypeError);
  });
});
