import { describe, expect, it } from "vitest";
import { classifyIp } from "./classify-ip.ts";
import { parseIp } from "./parse-ip.ts";
import type { IpKind } from "./types.ts";

const cases: Record<IpKind, string[]> = {
  loopback: ["127.0.0.1", "127.0.0.0", "127.255.255.254", "127.255.255.255", "::1", "::ffff:127.0.0.1"],
  private: [
    "10.0.0.0",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "100.64.0.1",
    "100.127.255.255",
    "fc00::1",
    "fd12:3456::1",
    "::ffff:10.0.0.5",
    "64:ff9b::10.0.0.5",
  ],
  "link-local": ["169.254.0.1", "169.254.255.255", "169.254.169.253", "fe80::1", "febf::1"],
  metadata: [
    "169.254.169.254",
    "169.254.170.2",
    "100.100.100.200",
    "168.63.129.16",
    "fd00:ec2::254",
    "fe80::a9fe:a9fe",
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "::169.254.169.254",
    "::ffff:0:169.254.169.254",
    "64:ff9b::169.254.169.254",
  ],
  unspecified: ["0.0.0.0", "::", "::ffff:0.0.0.0"],
  multicast: ["224.0.0.1", "239.255.255.255", "ff02::1", "ff05::1:3"],
  broadcast: ["255.255.255.255"],
  reserved: [
    "0.1.2.3",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "240.0.0.1",
    "255.255.255.254",
    "2001:db8::1",
    "2001::1",
    "2002:7f00:1::",
    "3fff::1",
    "100::1",
    "64:ff9b:1::1",
    "fec0::1",
    "4000::1",
    "::2",
  ],
  public: [
    "1.1.1.1",
    "8.8.8.8",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.0",
    "169.253.255.255",
    "223.255.255.255",
    "2001:4860:4860::8888",
    "2606:4700::1111",
    "64:ff9b::1.1.1.1",
  ],
};

describe("classifyIp", () => {
  const table = Object.entries(cases).flatMap(([kind, addresses]) =>
    addresses.map((a) => [a, kind] as const),
  );

  it.each(table)("%s is %s", (address, kind) => {
    expect(classifyIp(parseIp(address))).toBe(kind);
  });

  it("classifies IPv6 forms with an IPv4 inside by that IPv4 address", () => {
    for (const v4 of ["127.0.0.1", "10.0.0.5", "169.254.169.254", "8.8.8.8", "224.0.0.1"]) {
      const kind = classifyIp(parseIp(v4));
      for (const v6 of [`::ffff:${v4}`, `::ffff:0:${v4}`, `64:ff9b::${v4}`]) {
        expect(classifyIp(parseIp(v6))).toBe(kind);
      }
    }
  });

  it("refuses what is not 4 or 16 bytes", () => {
    expect(() => classifyIp(new Uint8Array(6))).toThrow(
      new TypeError("Cannot classify IP address: expected a Uint8Array of 4 or 16 bytes, got 6 bytes"),
    );
  });
});
