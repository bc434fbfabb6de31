// Fuzzing openFrame, the entry point for every byte a peer sends: random bytes, mutations of valid
// signed messages, random CBOR, and frame-shaped maps with random fields. Whatever comes in, openFrame
// either returns the frame that was signed or throws a ProtocolError; nothing else may escape (no
// TypeError from a missed check, no RangeError from an allocation, no stack overflow). At least 100,000
// inputs per run (the runs below add up to 100,000 before counting the reflection checks). Most fail the structural checks before signature verification, which keeps this fast.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cborValueArb, frameArb } from "./_arbitraries.ts";
import { _equalBytes } from "./_bytes.ts";
import type { CborKey, CborValue } from "./cbor-value.ts";
import { encodeCbor } from "./encode.ts";
import { type FrameContext, openFrame, sealFrame } from "./envelope.ts";
import { ProtocolError } from "./errors.ts";
import { FRAME_TYPES } from "./frame-codec.ts";
import type { Direction } from "./frames.ts";
import { type ConnectionId, keyIdBytes } from "./keys.ts";
import { Signer } from "./sign.ts";
import { Verifier } from "./verify.ts";

const MIN_INPUTS = 100_000;
const conn = "conn_ZnV6ei1jb25uZWN0aW9uAA" as ConnectionId;
const contexts: Record<Direction, FrameContext> = {
  "cp>agent": { connectionId: conn, direction: "cp>agent" },
  "agent>cp": { connectionId: conn, direction: "agent>cp" },
};

let signer: Signer;
let verifier: Verifier;
let corpus: { message: Uint8Array; direction: Direction }[] = [];
let inputs = 0;

beforeAll(async () => {
  signer = await Signer.fromSeed(new Uint8Array(32).fill(9));
  verifier = new Verifier(signer.publicKey);
  for (const direction of ["cp>agent", "agent>cp"] as const) {
    for (const frame of fc.sample(frameArb(direction), { numRuns: 40, seed: 42 })) {
      corpus.push({ message: await sealFrame(frame, signer, contexts[direction]), direction });
    }
  }
});

afterAll(() => {
  expect(inputs).toBeGreaterThanOrEqual(MIN_INPUTS);
  corpus = [];
});

/** Feeds `bytes` to openFrame; returns whether it opened. Anything but a ProtocolError fails the test. */
async function feed(bytes: Uint8Array, direction: Direction): Promise<boolean> {
  inputs++;
  try {
    await openFrame(bytes, verifier, contexts[direction]);
    return true;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return false;
  }
}

const directionArb = fc.constantFrom<Direction>("cp>agent", "agent>cp");

// Bytes that mean something to a CBOR decoder: lengths, indefinite markers, breaks, tags, floats.
const interestingByte = fc.constantFrom(
  0x00,
  0x17,
  0x18,
  0x19,
  0x1a,
  0x1b,
  0x1f,
  0x20,
  0x3b,
  0x40,
  0x5a,
  0x5b,
  0x5f,
  0x60,
  0x7f,
  0x80,
  0x9b,
  0x9f,
  0xa0,
  0xbb,
  0xbf,
  0xc0,
  0xd2,
  0xf4,
  0xf6,
  0xf7,
  0xf9,
  0xfb,
  0xff,
);

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; byte: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number }
  | { kind: "duplicate"; at: number; length: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip"), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("set"), at: fc.nat(), byte: fc.oneof(interestingByte, fc.nat(255)) }),
  fc.record({ kind: fc.constant("truncate"), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert"),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant("delete"), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("duplicate"), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
) as fc.Arbitrary<Mutation>;

function mutate(message: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = message.slice();
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    switch (m.kind) {
      case "flip":
        if (out.length > 0) out[at]! ^= 1 << m.bit;
        break;
      case "set":
        if (out.length > 0) out[at] = m.byte;
        break;
      case "truncate":
        out = out.slice(0, at);
        break;
      case "insert":
        out = Uint8Array.of(...out.subarray(0, at), ...m.bytes, ...out.subarray(at));
        break;
      case "delete":
        out = Uint8Array.of(...out.subarray(0, at), ...out.subarray(at + m.length));
        break;
      case "duplicate":
        out = Uint8Array.of(...out.subarray(0, at + m.length), ...out.subarray(at));
        break;
    }
  }
  return out;
}

/** A COSE_Sign1 around any payload, with this key's kid and a zero signature. */
function envelope(payload: Uint8Array): Uint8Array {
  const body = encodeCbor([
    Uint8Array.of(0xa1, 0x01, 0x27),
    new Map([[4, keyIdBytes(signer.keyId)]]),
    payload,
    new Uint8Array(64),
  ]);
  return Uint8Array.of(0xd2, ...body);
}

const FIELD_NAMES = [
  "t",
  "seq",
  "sid",
  "nonce",
  "time",
  "conn",
  "kid",
  "cap",
  "host",
  "version",
  "facts",
  "heartbeat",
  "code",
  "message",
  "config",
  "argv",
  "cwd",
  "env",
  "timeout",
  "credit",
  "data",
  "eof",
  "name",
  "signal",
  "bytes",
  "target",
  "reason",
  "hostname",
  "__proto__",
  "constructor",
];

/** Frame-shaped maps: a real `t`, a plausible `seq`, and random known (and unknown) fields. */
const frameLikeArb = fc
  .record({
    t: fc.oneof(fc.constantFrom(...FRAME_TYPES), fc.string({ maxLength: 10 })),
    seq: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.maxSafeInteger()),
    fields: fc.uniqueArray(fc.tuple(fc.constantFrom(...FIELD_NAMES.slice(2)), cborValueArb(2)), {
      maxLength: 8,
      selector: ([k]) => k,
    }),
  })
  .map(({ t, seq, fields }) => encodeCbor(new Map<CborKey, CborValue>([["t", t], ["seq", seq], ...fields])));

describe(`openFrame under fuzzing (≥ ${MIN_INPUTS.toLocaleString("en")} inputs)`, () => {
  it("survives random bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), directionArb, async (bytes, direction) => {
        await feed(bytes, direction);
      }),
      { numRuns: 20_000 },
    );
    // With a valid tag-18 / 4-array prefix, random bytes get further into the decoder.
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), directionArb, async (bytes, direction) => {
        await feed(Uint8Array.of(0xd2, 0x84, 0x43, 0xa1, 0x01, 0x27, ...bytes), direction);
      }),
      { numRuns: 10_000 },
    );
  });

  it("opens mutated signed messages only when they are unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        directionArb,
        async (pick, mutations, otherDirection) => {
          const { message, direction } = corpus[pick % corpus.length]!;
          const mutated = mutate(message, mutations);
          if (await feed(mutated, direction)) expect(_equalBytes(mutated, message)).toBe(true);
          // The untouched message opened in the other direction is a reflection: refused unless equal.
          if (otherDirection !== direction && (await feed(mutated, otherDirection))) {
            throw new Error("a frame opened in the direction it was not signed for");
          }
        },
      ),
      { numRuns: 30_000 },
    );
  });

  it("survives random CBOR, bare and as a payload", async () => {
    await fc.assert(
      fc.asyncProperty(cborValueArb(), directionArb, async (value, direction) => {
        const bytes = encodeCbor(value);
        await feed(bytes, direction);
        await feed(envelope(bytes), direction);
      }),
      { numRuns: 10_000 },
    );
  });

  it("survives frame-shaped maps with random fields", async () => {
    await fc.assert(
      fc.asyncProperty(frameLikeArb, directionArb, async (payload, direction) => {
        expect(await feed(envelope(payload), direction)).toBe(false); // the zero signature never verifies
      }),
      { numRuns: 20_000 },
    );
  });
});
