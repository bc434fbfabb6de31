import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp } from "./format-ip.ts";
import { parseIp } from "./parse-ip.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);
const v6 = (...groups: number[]) => {
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
};

/** The message parseIp throws for `text`; fails the test unless it is a TypeError. */
function refusal(text: string): string {
  try {
    parseIp(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe("parseIp accepts the standard spellings", () => {
  it.each([
    ["0.0.0.0", bytes(0, 0, 0, 0)],
    ["127.0.0.1", bytes(127, 0, 0, 1)],
    ["10.0.0.5", bytes(10, 0, 0, 5)],
    ["192.168.100.200", bytes(192, 168, 100, 200)],
    ["255.255.255.255", bytes(255, 255, 255, 255)],
  ])("IPv4 %s", (text, expected) => {
    expect(parseIp(text)).toEqual(expected);
  });

  it.each([
    ["::", v6()],
    ["::1", v6(0, 0, 0, 0, 0, 0, 0, 1)],
    ["1::", v6(1)],
    ["0:0:0:0:0:0:0:1", v6(0, 0, 0, 0, 0, 0, 0, 1)],
    ["1:2:3:4:5:6:7:8", v6(1, 2, 3, 4, 5, 6, 7, 8)],
    ["2001:db8::1", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["2001:DB8::A", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa)],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["1:2:3:4:5:6:7::", v6(1, 2, 3, 4, 5, 6, 7, 0)],
    ["::2:3:4:5:6:7:8", v6(0, 2, 3, 4, 5, 6, 7, 8)],
    ["1::8", v6(1, 0, 0, 0, 0, 0, 0, 8)],
    ["fe80::", v6(0xfe80)],
    ["::ffff:1.2.3.4", v6(0, 0, 0, 0, 0, 0xffff, 0x102, 0x304)],
    ["::ffff:102:304", v6(0, 0, 0, 0, 0, 0xffff, 0x102, 0x304)],
    ["::1.2.3.4", v6(0, 0, 0, 0, 0, 0, 0x102, 0x304)],
    ["1:2:3:4:5:6:1.2.3.4", v6(1, 2, 3, 4, 5, 6, 0x102, 0x304)],
    ["64:ff9b::192.0.2.33", v6(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x221)],
    ["0000:0000:0000:0000:0000:ffff:255.255.255.255", v6(0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff)],
  ])("IPv6 %s", (text, expected) => {
    expect(parseIp(text)).toEqual(expected);
  });
});

describe("parseIp refuses every other spelling, never interpreting it", () => {
  it.each([
    // The numeric spellings inet_aton() and WHATWG URL accept for 127.0.0.1.
    "2130706433",
    "0x7f000001",
    "0X7F000001",
    "0177.0.0.1",
    "0177.0000.0000.0001",
    "127.1",
    "127.0.1",
    "127.0.0.01",
    "0x7f.0.0.1",
    "0x7f.1",
    "017700000001",
    // Other almost-addresses.
    "1.2.3.4.5",
    "256.0.0.1",
    "1.2.3.256",
    "1.2.3.-1",
    "+1.2.3.4",
    "1.2.3.4.",
    ".1.2.3.4",
    "1..2.3",
    "00.0.0.0",
    "01.2.3.4",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1.2.3.4\n",
    "１.２.３.４",
    "١٢٧.0.0.1",
    "1.2.3.4/32",
    "127.0.0.1%eth0",
    "",
  ])("IPv4-like %j", (text) => {
    expect(refusal(text)).toMatch(/^Cannot parse IP address: '.*' is not a valid address \(only dotted-quad/);
  });

  it.each([
    "1::2::3",
    ":::",
    ":",
    ":1::",
    "1::2:",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "12345::",
    "::g",
    "[::1]",
    "::1.2.3",
    "::1.2.3.4:5",
    "1.2.3.4::",
    "::ffff:127.1",
    "::ffff:0x7f.0.0.1",
    "::ffff:127.0.0.01",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1 ",
    "0000:0000:0000:0000:0000:0000:ffff:255.255.255.255",
  ])("IPv6-like %j", (text) => {
    expect(refusal(text)).toMatch(/is not a valid address/);
  });

  it.each(["fe80::1%eth0", "fe80::1%25eth0", "::1%1"])("zone id %s", (text) => {
    expect(refusal(text)).toBe(`Cannot parse IP address: '${text}' has a zone id`);
  });

  it("says which text it refused, quoted and printable", () => {
    expect(refusal("0x7f.1")).toBe(
      "Cannot parse IP address: '0x7f.1' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)",
    );
    expect(refusal("1.2.3.4\n")).toContain("'1.2.3.4\\u000a'");
    expect(refusal("x".repeat(500)).length).toBeLessThan(200);
  });

  it("refuses what is not a string with a TypeError", () => {
    expect(() => parseIp(2130706433 as unknown as string)).toThrow(
      new TypeError("Cannot parse IP address: expected a string, got number"),
    );
  });
});

describe("parseIp over random input", () => {
  it("round-trips any 4 bytes through dotted-quad text", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (ip) => {
        const text = formatIp(ip);
        expect(text).toBe(ip.join("."));
        expect(parseIp(text)).toEqual(ip);
      }),
    );
  });

  it("round-trips any 16 bytes through canonical RFC 5952 text", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (ip) => {
        const text = formatIp(ip);
        expect(parseIp(text)).toEqual(ip);
        expect(formatIp(parseIp(text))).toBe(text);
      }),
    );
  });

  it("round-trips IPv6 addresses that are mostly zeros (where '::' placement matters)", () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const ip = v6(...groups);
        expect(parseIp(formatIp(ip))).toEqual(ip);
        // The uncompressed spelling parses to the same bytes.
        expect(parseIp(groups.map((g) => g.toString(16)).join(":"))).toEqual(ip);
      }),
    );
  });

  it("accepts a digits-and-dots string exactly when it is a strict dotted quad", () => {
    const octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    const strict = new RegExp(`^${octet}(?:\\.${octet}){3}$`);
    const text = fc.string({ unit: fc.constantFrom(..."0123456789."), maxLength: 20 });
    fc.assert(
      fc.property(text, (s) => {
        let accepted = true;
        try {
          parseIp(s);
        } catch {
          accepted = false;
        }
        expect(accepted).toBe(strict.test(s));
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws anything but TypeError, and what it accepts has 4 or 16 bytes", () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 60 }),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdefxX.:%[] "), maxLength: 50 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        try {
          const ip = parseIp(s);
          expect([4, 16]).toContain(ip.length);
          expect(parseIp(formatIp(ip))).toEqual(ip);
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
