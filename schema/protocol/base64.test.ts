import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from "./base64.ts";

describe("base64 / base64url", () => {
  it("matches Node's Buffer on random bytes, both ways (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        expect(toBase64Url(bytes)).toBe(buffer.toString("base64url"));
        expect(toBase64(bytes)).toBe(buffer.toString("base64"));
        expect(fromBase64Url(buffer.toString("base64url"))).toEqual(bytes);
        expect(fromBase64(buffer.toString("base64"))).toEqual(bytes);
      }),
    );
  });

  it("refuses text that is not canonical", () => {
    for (const bad of ["a", "ab=", "a b", "ab+/", "AB"])
      expect(() => fromBase64Url(bad), bad).toThrow(TypeError);
    for (const bad of ["YQ", "YQ=", "Y===", "YR==", "a-_=", "Y Q=="])
      expect(() => fromBase64(bad), bad).toThrow(TypeError);
    expect(fromBase64("YQ==")).toEqual(new Uint8Array([97]));
    expect(fromBase64("")).toEqual(new Uint8Array(0));
  });
});
