import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cidrContains } from "./cidr-contains.ts";
import { formatIp } from "./format-ip.ts";
import { parseCidr } from "./parse-cidr.ts";
import { parseIp } from "./parse-ip.ts";

function refusal(text: string): string {
  try {
    parseCidr(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe("parseCidr", () => {
  it.each([
    ["10.1.0.0/16", "10.1.0.0/16", 16],
    ["10.0.0.5/32", "10.0.0.5/32", 32],
    ["0.0.0.0/0", "0.0.0.0/0", 0],
    ["172.16.0.0/12", "172.16.0.0/12", 12],
    ["fd12:3456::/48", "fd12:3456::/48", 48],
    ["FD12:3456:0000::/48", "fd12:3456::/48", 48],
    ["2001:db8::1/128", "2001:db8::1/128", 128],
    ["::/0", "::/0", 0],
  ])("%s", (text, canonical, prefix) => {
    const cidr = parseCidr(text);
    expect(cidr.text).toBe(canonical);
    expect(cidr.prefix).toBe(prefix);
  });

  it.each([
    ["10.1.2.3/16", "host bits are set (did you mean 10.1.0.0/16?)"],
    ["fd12:3456::1/48", "host bits are set (did you mean fd12:3456::/48?)"],
    ["10.0.0.0", "expected address/prefix, like 10.1.0.0/16 or 10.1.2.3/32"],
    ["10.0.0.0/33", "the prefix length must be 0..32 without leading zeros"],
    ["::/129", "the prefix length must be 0..128 without leading zeros"],
    ["10.0.0.0/08", "the prefix length must be 0..32 without leading zeros"],
    ["10.0.0.0/", "the prefix length must be 0..32 without leading zeros"],
    ["10.0.0.0/8/8", "the prefix length must be 0..32 without leading zeros"],
    ["10.0.0.0/-8", "the prefix length must be 0..32 without leading zeros"],
    ["10/8", "'10' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)"],
    [
      "012.0.0.0/8",
      "'012.0.0.0' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)",
    ],
    [
      "fe80::%eth0/10",
      "'fe80::%eth0' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)",
    ],
    ["/8", "'' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)"],
  ])("refuses %s", (text, why) => {
    expect(refusal(text)).toBe(`Cannot parse CIDR '${text}': ${why}`);
  });

  it("refuses what is not a string", () => {
    expect(() => parseCidr(undefined as unknown as string)).toThrow(
      new TypeError("Cannot parse CIDR: expected a string, got undefined"),
    );
  });
});

describe("cidrContains", () => {
  it.each([
    ["10.1.0.0/16", "10.1.0.0", true],
    ["10.1.0.0/16", "10.1.255.255", true],
    ["10.1.0.0/16", "10.1.77.3", true],
    ["10.1.0.0/16", "10.0.255.255", false],
    ["10.1.0.0/16", "10.2.0.0", false],
    ["10.1.0.0/16", "11.1.0.0", false],
    ["100.64.0.0/10", "100.127.255.255", true],
    ["100.64.0.0/10", "100.128.0.0", false],
    ["100.64.0.0/10", "100.63.255.255", false],
    ["10.0.0.5/32", "10.0.0.5", true],
    ["10.0.0.5/32", "10.0.0.4", false],
    ["10.0.0.5/32", "10.0.0.6", false],
    ["0.0.0.0/0", "255.255.255.255", true],
    ["2001:db8:1::/48", "2001:db8:1::", true],
    ["2001:db8:1::/48", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", true],
    ["2001:db8:1::/48", "2001:db8:0:ffff:ffff:ffff:ffff:ffff", false],
    ["2001:db8:1::/48", "2001:db8:2::", false],
    ["fd00::/8", "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false],
    ["fd00::/8", "fd00::", true],
    ["fc00::/7", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["fc00::/7", "fe00::", false],
    ["::/0", "2001:db8::1", true],
    // Families never mix, not even through IPv4-mapped addresses.
    ["::/0", "127.0.0.1", false],
    ["0.0.0.0/0", "::1", false],
    ["10.0.0.0/8", "::ffff:10.0.0.5", false],
  ])("%s ∋ %s: %s", (cidr, ip, inside) => {
    expect(cidrContains(parseCidr(cidr), parseIp(ip))).toBe(inside);
  });

  it("agrees with integer arithmetic for random networks and addresses", () => {
    const toBig = (b: Uint8Array) => b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);
    const pair = fc
      .constantFrom(4, 16)
      .chain((length) =>
        fc.tuple(
          fc.uint8Array({ minLength: length, maxLength: length }),
          fc.uint8Array({ minLength: length, maxLength: length }),
          fc.integer({ min: 0, max: length * 8 }),
        ),
      );
    fc.assert(
      fc.property(pair, ([network, ip, prefix]) => {
        const bits = BigInt(network.length * 8);
        const mask = ((1n << BigInt(prefix)) - 1n) << (bits - BigInt(prefix));
        expect(cidrContains(parseCidr(`${formatIp(network)}/${bits}`), network)).toBe(true);
        const masked = `${formatIp(_maskBytes(network, prefix))}/${prefix}`;
        expect(cidrContains(parseCidr(masked), ip)).toBe((toBig(ip) & mask) === (toBig(network) & mask));
        expect(cidrContains(parseCidr(masked), network)).toBe(true);
      }),
    );
  });

  it("refuses malformed input with a TypeError", () => {
    const cidr = parseCidr("10.0.0.0/8");
    expect(() => cidrContains(cidr, new Uint8Array(3))).toThrow(TypeError);
    expect(() => cidrContains({ ...cidr, prefix: 33 }, parseIp("10.0.0.1"))).toThrow(
      new TypeError("Cannot test CIDR membership: prefix 33 is not 0..32"),
    );
    expect(() => cidrContains({} as never, parseIp("10.0.0.1"))).toThrow(TypeError);
  });
});

function _maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  return bytes.map((b, i) => b & ((0xff << (8 - Math.max(0, Math.min(8, prefix - 8 * i)))) & 0xff));
}
