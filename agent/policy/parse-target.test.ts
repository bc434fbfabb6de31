import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp } from "./format-ip.ts";
import { parseTarget } from "./parse-target.ts";

function refusal(text: string): string {
  try {
    parseTarget(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message.replace(/^Cannot parse target: /, "");
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

const NOT_AN_ADDRESS = "is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)";

describe("parseTarget accepts host:port", () => {
  it.each([
    ["127.0.0.1:22", "127.0.0.1", 22, true],
    ["10.0.0.5:65535", "10.0.0.5", 65535, true],
    ["0.0.0.0:1", "0.0.0.0", 1, true],
    ["[::1]:22", "::1", 22, true],
    ["[0:0:0:0:0:0:0:1]:22", "::1", 22, true],
    ["[2001:DB8::1]:443", "2001:db8::1", 443, true],
    ["[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80, true],
    ["[::ffff:7f00:1]:80", "::ffff:127.0.0.1", 80, true],
    ["db.internal:5432", "db.internal", 5432, false],
    ["DB.Internal:5432", "db.internal", 5432, false],
    ["localhost:6379", "localhost", 6379, false],
    ["a:1", "a", 1, false],
    ["web-01.prod.example.com:8080", "web-01.prod.example.com", 8080, false],
    ["1password.example:443", "1password.example", 443, false],
    ["127.0.0.1a:22", "127.0.0.1a", 22, false],
    ["0x7f.example:22", "0x7f.example", 22, false],
    [`${"a".repeat(63)}.example:1`, `${"a".repeat(63)}.example`, 1, false],
  ])("%s", (text, host, port, isIp) => {
    expect(parseTarget(text)).toEqual({ host, port, isIp });
  });
});

describe("parseTarget refuses everything else", () => {
  it.each([
    "2130706433:22",
    "0x7f000001:22",
    "0177.0.0.1:22",
    "127.1:22",
    "127.0.1:22",
    "127.0.0.01:22",
    "0x7f.0.0.1:22",
    "0x7f.1:22",
    "0x:22",
    "1.2.3.4.5:22",
    "256.1.1.1:22",
    "db.1:22",
    "[1::2::3]:22",
    "[127.0.0.1]:22",
    "[::ffff:127.1]:22",
    "[zone%eth0]:22",
  ])("loose address %s", (text) => {
    expect(refusal(text)).toMatch(new RegExp(`^'.*' ${NOT_AN_ADDRESS.replace(/[().]/g, "\\$&")}$`));
  });

  it.each([
    ["[fe80::1%eth0]:22", "'fe80::1%eth0' has a zone id, which a target cannot carry"],
    ["[fe80::1%25eth0]:22", "'fe80::1%25eth0' has a zone id, which a target cannot carry"],
    ["fe80::1%eth0:22", "'fe80::1%eth0:22' is ambiguous: an IPv6 address needs brackets, as in [::1]:22"],
    ["127.0.0.1:0", "port '0' is out of range (1..65535)"],
    ["127.0.0.1:65536", "port '65536' is out of range (1..65535)"],
    ["127.0.0.1:99999999999999999999", "port '99999999999999999999' is out of range (1..65535)"],
    ["127.0.0.1:022", "port '022' has a leading zero"],
    ["127.0.0.1:00022", "port '00022' has a leading zero"],
    ["127.0.0.1:-1", "port '-1' is not a decimal number"],
    ["127.0.0.1:+22", "port '+22' is not a decimal number"],
    ["127.0.0.1:0x16", "port '0x16' is not a decimal number"],
    ["127.0.0.1:22.0", "port '22.0' is not a decimal number"],
    ["127.0.0.1:", "the port is empty"],
    ["127.0.0.1", "'127.0.0.1' has no port (expected host:port)"],
    ["db.internal", "'db.internal' has no port (expected host:port)"],
    ["[::1]", "'[::1]' has no port (expected [address]:port)"],
    ["[::1]22", "'[::1]22' has no port (expected [address]:port)"],
    ["[::1:22", "'[::1:22' has an unclosed '['"],
    ["::1:22", "'::1:22' is ambiguous: an IPv6 address needs brackets, as in [::1]:22"],
    [":22", "':22' has an empty host"],
    ["[]:22", "'[]:22' has an empty host"],
    [" 127.0.0.1:22", "' 127.0.0.1:22' contains whitespace"],
    ["127.0.0.1 :22", "'127.0.0.1 :22' contains whitespace"],
    ["127.0.0.1:22\n", "'127.0.0.1:22\\u000a' contains whitespace"],
    ["127.0.0.1:\t22", "'127.0.0.1:\\u000922' contains whitespace"],
    ["user@127.0.0.1:22", "'user@127.0.0.1:22' has userinfo ('user@'), which a target cannot carry"],
    ["user:pw@db:22", "'user:pw@db:22' has userinfo ('user@'), which a target cannot carry"],
    ["tcp://127.0.0.1:22", "'tcp://127.0.0.1:22' is not host:port (no scheme, path or query)"],
    ["127.0.0.1:22/x", "'127.0.0.1:22/x' is not host:port (no scheme, path or query)"],
    ["", "'' has no port (expected host:port)"],
  ])("%j", (text, why) => {
    expect(refusal(text)).toBe(why);
  });

  it.each([
    "-db:22",
    "db-:22",
    "db_x:22",
    "db..internal:22",
    ".db:22",
    "db.:22",
    "localhost.:22",
    "*.example:22",
    "exämple.com:22",
    "host%eth0:22",
    `${"a".repeat(64)}.example:22`,
    `${"a.".repeat(126)}ab:22`,
  ])("not a DNS name %j", (text) => {
    expect(refusal(text)).toMatch(/is not a valid DNS name \(RFC 1123/);
  });

  it("refuses what is not a string", () => {
    expect(() => parseTarget(22 as unknown as string)).toThrow(
      new TypeError("Cannot parse target: expected a string, got number"),
    );
  });
});

describe("parseTarget over random input", () => {
  it("round-trips random IP targets", () => {
    const ip = fc.oneof(
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
    );
    fc.assert(
      fc.property(ip, fc.integer({ min: 1, max: 65535 }), (bytes, port) => {
        const host = formatIp(bytes);
        const text = bytes.length === 16 ? `[${host}]:${port}` : `${host}:${port}`;
        expect(parseTarget(text)).toEqual({ host, port, isIp: true });
      }),
    );
  });

  it("never throws anything but TypeError", () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 80 }),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdefx.:%[]@-_/ "), maxLength: 40 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        try {
          const target = parseTarget(s);
          expect(target.port).toBeGreaterThanOrEqual(1);
          expect(target.port).toBeLessThanOrEqual(65535);
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
