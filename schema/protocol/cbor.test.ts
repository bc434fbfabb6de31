import { Decoder } from "cbor-x";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cborValueArb } from "./_arbitraries.ts";
import { _fromHex, _toHex } from "./_bytes.ts";
import type { CborValue } from "./cbor-value.ts";
import { decodeCbor } from "./decode.ts";
import { encodeCbor } from "./encode.ts";
import { ProtocolError } from "./errors.ts";
import { MAX_MESSAGE_BYTES, MAX_NESTING } from "./limits.ts";

function decodeHex(hex: string, options?: { tag?: number }): CborValue {
  return decodeCbor(_fromHex(hex.replace(/\s/g, "")), options);
}

function refusal(hex: string, options?: { tag?: number }): ProtocolError {
  try {
    decodeHex(hex, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error(`expected ${hex} to be refused`);
}

describe("decodeCbor", () => {
  it("decodes the data model", () => {
    expect(decodeHex("00")).toBe(0);
    expect(decodeHex("17")).toBe(23);
    expect(decodeHex("1818")).toBe(24);
    expect(decodeHex("1b001fffffffffffff")).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeHex("3b001ffffffffffffe")).toBe(-Number.MAX_SAFE_INTEGER);
    expect(decodeHex("20")).toBe(-1);
    expect(decodeHex("f4")).toBe(false);
    expect(decodeHex("f5")).toBe(true);
    expect(decodeHex("f6")).toBe(null);
    expect(decodeHex("43010203")).toEqual(Uint8Array.of(1, 2, 3));
    expect(decodeHex("62c3a9")).toBe("é");
    expect(decodeHex("820102")).toEqual([1, 2]);
    expect(decodeHex("a2 01 02 6161 6162")).toEqual(
      new Map<number | string, CborValue>([
        [1, 2],
        ["a", "b"],
      ]),
    );
    expect(decodeHex("d28100", { tag: 18 })).toEqual([0]);
  });

  it("refuses duplicate map keys", () => {
    expect(refusal("a2 6161 01 6161 02").message).toBe('Cannot decode frame: duplicate map key "a"');
    expect(refusal("a2 01 01 01 02").message).toBe("Cannot decode frame: duplicate map key 1");
  });

  it("refuses map keys out of deterministic order", () => {
    expect(refusal("a2 6162 01 6161 01").message).toMatch(/not in deterministic order/);
    // Length first: "bb" sorts after "a" even though 'a' < 'b' anyway; "aa" after "b".
    expect(refusal("a2 626161 01 6162 01").message).toMatch(/not in deterministic order/);
    expect(refusal("a2 6161 01 01 01").message).toMatch(/not in deterministic order/);
  });

  it("refuses indefinite lengths", () => {
    for (const hex of ["5fff", "7fff", "9fff", "bfff"]) {
      expect(refusal(hex).message).toMatch(/^Cannot decode frame: indefinite-length .* not allowed$/);
    }
    expect(refusal("ff").message).toMatch(/unexpected break/);
    expect(refusal("1f").message).toMatch(/reserved additional information 31/);
  });

  it(`caps nesting at ${MAX_NESTING}`, () => {
    expect(decodeHex(`${"81".repeat(MAX_NESTING - 1)}80`)).toBeDefined();
    expect(refusal(`${"81".repeat(MAX_NESTING)}80`).message).toBe(
      `Cannot decode frame: array nesting exceeds ${MAX_NESTING}`,
    );
    expect(decodeHex(`${"a10a".repeat(MAX_NESTING - 1)}a0`)).toBeDefined();
    expect(refusal(`${"a10a".repeat(MAX_NESTING)}a0`).message).toBe(
      "Cannot decode frame: map nesting exceeds 16",
    );
  });

  it("refuses truncated input and trailing bytes", () => {
    expect(refusal("").message).toMatch(/input ends/);
    expect(refusal("6261").message).toMatch(/text string of 2 bytes runs past the end/);
    expect(refusal("19").message).toMatch(/input ends inside an item header/);
    expect(refusal("8201").message).toMatch(/array of 2 items runs past the end/);
    expect(refusal("a1 01").message).toMatch(/map of 1 entries runs past the end/);
    expect(refusal("0101").message).toBe("Cannot decode frame: 1 unexpected bytes after the item");
  });

  it("checks declared lengths against the input before allocating", () => {
    expect(refusal("5affffffff").message).toMatch(/byte string of 4294967295 bytes runs past the end/);
    expect(refusal("9b0000000100000000").message).toMatch(/array of 4294967296 items runs past/);
    expect(refusal("bb001fffffffffffff").message).toMatch(/map of 9007199254740991 entries runs past/);
  });

  it("refuses arguments not in shortest form", () => {
    for (const hex of [
      "1801",
      "190001",
      "1a0000ffff",
      "1b00000000ffffffff",
      "3800",
      "5800",
      "9800",
      "b800",
    ]) {
      expect(refusal(hex).message).toMatch(/shortest form/);
    }
  });

  it("refuses floats, undefined, simple values and tags", () => {
    expect(refusal("f90000").message).toMatch(/floating-point/);
    expect(refusal("fa00000000").message).toMatch(/floating-point/);
    expect(refusal("fb0000000000000000").message).toMatch(/floating-point/);
    expect(refusal("f7").message).toMatch(/simple values/);
    expect(refusal("f820").message).toMatch(/simple values/);
    expect(refusal("c000").message).toBe("Cannot decode frame: tag 0 is not allowed here");
    expect(refusal("d28100").message).toMatch(/tag 18 is not allowed/);
    expect(refusal("d18100", { tag: 18 }).message).toBe("Cannot decode frame: expected tag 18, got tag 17");
    expect(refusal("8100", { tag: 18 }).message).toMatch(/expected tag 18, got major type 4/);
    expect(refusal("d2d28100", { tag: 18 }).message).toMatch(/tag 18 is not allowed here/);
  });

  it("refuses integers outside the safe range, bad UTF-8 and non-text keys", () => {
    expect(refusal("1b0020000000000000").message).toMatch(/exceeds 2\^53-1/);
    expect(refusal("3b001fffffffffffff").message).toMatch(/below -\(2\^53-1\)/);
    expect(refusal("62c328").message).toMatch(/not valid UTF-8/);
    expect(refusal("63eda080").message).toMatch(/not valid UTF-8/); // an encoded surrogate
    expect(refusal("a14001").message).toMatch(/map key must be an integer or text, got byte string/);
    expect(refusal("a1f501").message).toMatch(/got a simple value/);
    expect(refusal("a18001").message).toMatch(/got array/);
  });

  it("refuses messages over MAX_MESSAGE_BYTES as too_big", () => {
    const big = new Uint8Array(MAX_MESSAGE_BYTES + 1);
    expect(() => decodeCbor(big)).toThrow(expect.objectContaining({ code: "too_big" }));
  });

  it("fails only with ProtocolError 'malformed' on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCbor(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
          expect((error as ProtocolError).code).toBe("malformed");
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe("encodeCbor", () => {
  it("writes deterministic CBOR (RFC 8949 §4.2.1)", () => {
    expect(_toHex(encodeCbor(23))).toBe("17");
    expect(_toHex(encodeCbor(24))).toBe("1818");
    expect(_toHex(encodeCbor(65536))).toBe("1a00010000");
    expect(_toHex(encodeCbor(2 ** 32))).toBe("1b0000000100000000");
    expect(_toHex(encodeCbor(-(2 ** 32) - 1))).toBe("3b0000000100000000");
    expect(_toHex(encodeCbor(Number.MAX_SAFE_INTEGER))).toBe("1b001fffffffffffff");
    expect(
      _toHex(
        encodeCbor(
          new Map<number | string, CborValue>([
            ["aa", 1],
            ["b", 2],
            [10, 3],
            [-1, 4],
          ]),
        ),
      ),
    ).toBe("a40a032004616202626161" + "01");
  });

  it("refuses values outside the data model", () => {
    expect(() => encodeCbor(1.5)).toThrow(RangeError);
    expect(() => encodeCbor(2 ** 53)).toThrow(RangeError);
    expect(() => encodeCbor("\ud800")).toThrow(/lone surrogate/);
    expect(() => encodeCbor(undefined as unknown as CborValue)).toThrow(TypeError);
    expect(() => encodeCbor({ a: 1 } as unknown as CborValue)).toThrow(TypeError);
    let deep: CborValue = [];
    for (let i = 0; i < MAX_NESTING; i++) deep = [deep];
    expect(() => encodeCbor(deep)).toThrow(/nesting exceeds/);
  });

  it("round-trips every value: decode(encode(v)) = v and encode(decode(b)) = b", () => {
    fc.assert(
      fc.property(cborValueArb(), (value) => {
        const bytes = encodeCbor(value);
        const decoded = decodeCbor(bytes);
        expect(decoded).toEqual(value);
        expect(encodeCbor(decoded)).toEqual(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it("agrees with cbor-x, an independent decoder", () => {
    const cborx = new Decoder({ mapsAsObjects: false, useRecords: false });
    // cbor-x returns 8-byte integers as bigint and byte strings as Buffer.
    const normalize = (v: unknown): unknown =>
      typeof v === "bigint"
        ? Number(v)
        : v instanceof Uint8Array
          ? Uint8Array.from(v)
          : Array.isArray(v)
            ? v.map(normalize)
            : v instanceof Map
              ? new Map([...v].map(([k, x]) => [normalize(k), normalize(x)]))
              : v;
    fc.assert(
      fc.property(cborValueArb(), (value) => {
        expect(normalize(cborx.decode(encodeCbor(value)))).toEqual(value);
      }),
      { numRuns: 2000 },
    );
  });
});
