import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp } from "./format-ip.ts";
import { parseIp } from "./parse-ip.ts";

describe("formatIp writes RFC 5952 canonical text", () => {
  it.each([
    // RFC 5952 §4.1: no leading zeros. §4.2.1: "::" as long as possible. §4.2.2: not for one group.
    // §4.2.3: the first of equal runs. §4.3: lowercase. §5: IPv4-mapped in mixed notation.
    ["2001:0db8::0001", "2001:db8::1"],
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:DB8::AbCd", "2001:db8::abcd"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["::ffff:7f00:1", "::ffff:127.0.0.1"],
    ["::FFFF:10.0.0.5", "::ffff:10.0.0.5"],
    ["::127.0.0.1", "::7f00:1"],
    ["64:ff9b::10.0.0.5", "64:ff9b::a00:5"],
    ["10.0.0.5", "10.0.0.5"],
  ])("%s → %s", (input, canonical) => {
    expect(formatIp(parseIp(input))).toBe(canonical);
  });

  it("agrees with the WHATWG URL serializer, which also follows RFC 5952 §4", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (ip) => {
        const text = formatIp(ip);
        // WHATWG never writes mixed notation, so compare only where RFC 5952 §5 does not apply.
        fc.pre(!text.startsWith("::ffff:") || !text.includes("."));
        expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
    );
  });

  it.each([
    [new Uint8Array(5), "5 bytes"],
    [new Uint8Array(0), "0 bytes"],
    ["127.0.0.1", "string"],
    [[127, 0, 0, 1], "object"],
  ])("refuses %j with a TypeError", (input, got) => {
    expect(() => formatIp(input as Uint8Array)).toThrow(
      new TypeError(`Cannot format IP address: expected a Uint8Array of 4 or 16 bytes, got ${got}`),
    );
  });
});
