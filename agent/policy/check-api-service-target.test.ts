import { describe, expect, it } from "vitest";
import { checkApiServiceTarget } from "./check-api-service-target.ts";
import { parseCidr } from "./parse-cidr.ts";
import type { PolicyConfig } from "./types.ts";

const policy = (allowLoopback: boolean, ...nets: string[]): PolicyConfig => ({
  allowLoopback,
  allowNets: nets.map(parseCidr),
});

/** Nothing opened: only loopback is reachable. */
const closed = policy(false);
/** Everything opened that --allow-net can open. */
const wideOpen = policy(true, "0.0.0.0/0", "::/0");

function check(target: string, p: PolicyConfig) {
  const decision = checkApiServiceTarget(target, p);
  if (!decision.ok) expect(decision.reason).toMatch(/^[\x20-\x7e§]+$/); // one printable line
  return decision;
}

const MALFORMED = "is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)";

/** Refused whatever the owner opened: [category, target, reason]. */
const ALWAYS_REFUSED: [string, string, string][] = [
  ["metadata", "169.254.169.254:80", "refused: 169.254.169.254 is a cloud metadata address"],
  ["metadata", "169.254.170.2:80", "refused: 169.254.170.2 is a cloud metadata address"],
  ["metadata", "169.254.170.23:80", "refused: 169.254.170.23 is a cloud metadata address"],
  ["metadata", "100.100.100.200:80", "refused: 100.100.100.200 is a cloud metadata address"],
  ["metadata", "168.63.129.16:80", "refused: 168.63.129.16 is a cloud metadata address"],
  ["metadata", "[fd00:ec2::254]:80", "refused: fd00:ec2::254 is a cloud metadata address"],
  ["metadata", "[FD00:EC2:0:0:0:0:0:254]:80", "refused: fd00:ec2::254 is a cloud metadata address"],
  ["metadata", "[fd00:ec2::23]:80", "refused: fd00:ec2::23 is a cloud metadata address"],
  ["metadata", "[fe80::a9fe:a9fe]:80", "refused: fe80::a9fe:a9fe is a cloud metadata address"],
  ["link-local", "169.254.0.1:22", "refused: 169.254.0.1 is a link-local address"],
  ["link-local", "169.254.255.255:22", "refused: 169.254.255.255 is a link-local address"],
  ["link-local", "169.254.169.253:53", "refused: 169.254.169.253 is a link-local address"],
  ["link-local", "[fe80::1]:22", "refused: fe80::1 is a link-local address"],
  ["link-local", "[FE80:0000::0001]:22", "refused: fe80::1 is a link-local address"],
  ["link-local", "[febf:ffff::1]:22", "refused: febf:ffff::1 is a link-local address"],
  ["unspecified", "0.0.0.0:22", "refused: 0.0.0.0 is the unspecified address"],
  ["unspecified", "[::]:22", "refused: :: is the unspecified address"],
  ["unspecified", "[0:0:0:0:0:0:0:0]:22", "refused: :: is the unspecified address"],
  ["unspecified", "[::0]:22", "refused: :: is the unspecified address"],
  ["multicast", "224.0.0.1:1", "refused: 224.0.0.1 is a multicast address"],
  ["multicast", "239.255.255.250:1900", "refused: 239.255.255.250 is a multicast address"],
  ["multicast", "[ff02::1]:22", "refused: ff02::1 is a multicast address"],
  ["multicast", "[ff05::fb]:5353", "refused: ff05::fb is a multicast address"],
  ["broadcast", "255.255.255.255:9", "refused: 255.255.255.255 is the broadcast address"],
  ...[
    ["[::ffff:127.0.0.1]:22", "::ffff:127.0.0.1"],
    ["[::ffff:7f00:1]:22", "::ffff:127.0.0.1"],
    ["[0:0:0:0:0:ffff:127.0.0.1]:22", "::ffff:127.0.0.1"],
    ["[::FFFF:7F00:0001]:22", "::ffff:127.0.0.1"],
    ["[::ffff:169.254.169.254]:80", "::ffff:169.254.169.254"],
    ["[::ffff:a9fe:a9fe]:80", "::ffff:169.254.169.254"],
    ["[::ffff:10.1.0.5]:22", "::ffff:10.1.0.5"],
    ["[::ffff:8.8.8.8]:53", "::ffff:8.8.8.8"],
    ["[::ffff:0.0.0.0]:22", "::ffff:0.0.0.0"],
  ].map(([target, address]): [string, string, string] => [
    "IPv4-mapped",
    target!,
    `refused: ${address} is an IPv4-mapped IPv6 address (write IPv4 destinations as plain IPv4)`,
  ]),
  [
    "IPv4-translated",
    "[::ffff:0:127.0.0.1]:22",
    "refused: ::ffff:0:7f00:1 is an IPv4-translated IPv6 address for 127.0.0.1 (RFC 2765)",
  ],
  [
    "IPv4-translated",
    "[::ffff:0:a9fe:a9fe]:80",
    "refused: ::ffff:0:a9fe:a9fe is an IPv4-translated IPv6 address for 169.254.169.254 (RFC 2765)",
  ],
  [
    "IPv4-compatible",
    "[::127.0.0.1]:22",
    "refused: ::7f00:1 is an IPv4-compatible IPv6 address for 127.0.0.1 (deprecated, RFC 4291 §2.5.5.1)",
  ],
  [
    "IPv4-compatible",
    "[::7f00:1]:22",
    "refused: ::7f00:1 is an IPv4-compatible IPv6 address for 127.0.0.1 (deprecated, RFC 4291 §2.5.5.1)",
  ],
  [
    "IPv4-compatible",
    "[::169.254.169.254]:80",
    "refused: ::a9fe:a9fe is an IPv4-compatible IPv6 address for 169.254.169.254 (deprecated, RFC 4291 §2.5.5.1)",
  ],
  [
    "NAT64",
    "[64:ff9b::127.0.0.1]:22",
    "refused: 64:ff9b::7f00:1 is a NAT64 address (RFC 6052) for 127.0.0.1, a loopback address, the translator's own",
  ],
  [
    "NAT64",
    "[64:ff9b::a9fe:a9fe]:80",
    "refused: 64:ff9b::a9fe:a9fe is a NAT64 address (RFC 6052) for 169.254.169.254, a cloud metadata address",
  ],
  [
    "NAT64",
    "[64:ff9b::0.0.0.0]:22",
    "refused: 64:ff9b:: is a NAT64 address (RFC 6052) for 0.0.0.0, the unspecified address",
  ],
  [
    "NAT64",
    "[64:ff9b::224.0.0.251]:5353",
    "refused: 64:ff9b::e000:fb is a NAT64 address (RFC 6052) for 224.0.0.251, a multicast address",
  ],
  ...[
    "2130706433",
    "0x7f000001",
    "0X7F000001",
    "0177.0.0.1",
    "127.1",
    "127.0.1",
    "127.0.0.01",
    "0x7f.0.0.1",
    "0x7f.1",
    "017700000001",
    "0xa9.0xfe.0xa9.0xfe",
    "2852039166",
    "169.254.43518",
    "1.2.3.4.5",
  ].map((host): [string, string, string] => ["malformed", `${host}:80`, `refused: '${host}' ${MALFORMED}`]),
  ["malformed", "[::ffff:127.1]:22", `refused: '::ffff:127.1' ${MALFORMED}`],
  ["malformed", "[127.0.0.1]:22", `refused: '127.0.0.1' ${MALFORMED}`],
  ["zone id", "[fe80::1%eth0]:22", "refused: 'fe80::1%eth0' has a zone id, which a target cannot carry"],
  ["zone id", "[fe80::1%25eth0]:22", "refused: 'fe80::1%25eth0' has a zone id, which a target cannot carry"],
  ["port", "127.0.0.1:0", "refused: port '0' is out of range (1..65535)"],
  ["port", "127.0.0.1:65536", "refused: port '65536' is out of range (1..65535)"],
  ["port", "127.0.0.1:022", "refused: port '022' has a leading zero"],
  ["port", "127.0.0.1:", "refused: the port is empty"],
  ["port", "127.0.0.1", "refused: '127.0.0.1' has no port (expected host:port)"],
  ["whitespace", "127.0.0.1 :22", "refused: '127.0.0.1 :22' contains whitespace"],
  ["whitespace", "\t127.0.0.1:22", "refused: '\\u0009127.0.0.1:22' contains whitespace"],
  [
    "userinfo",
    "root@127.0.0.1:22",
    "refused: 'root@127.0.0.1:22' has userinfo ('user@'), which a target cannot carry",
  ],
  ["empty host", ":22", "refused: ':22' has an empty host"],
  ["empty host", "[]:22", "refused: '[]:22' has an empty host"],
  [
    "unbracketed IPv6",
    "::1:22",
    "refused: '::1:22' is ambiguous: an IPv6 address needs brackets, as in [::1]:22",
  ],
];

describe("checkApiServiceTarget refuses, whatever the host opened", () => {
  it.each(ALWAYS_REFUSED)("%s: %j", (_category, target, reason) => {
    expect(check(target, closed)).toEqual({ ok: false, reason });
    expect(check(target, wideOpen)).toEqual({ ok: false, reason });
  });
});

/** Refused until a network is opened: [category, target, reason when closed, address when opened]. */
const UNLESS_OPENED: [string, string, string, string][] = [
  [
    "private",
    "10.0.0.5:22",
    "refused: 10.0.0.5 is in a private range this host has not opened (start the agent with --allow-net 10.0.0.0/8)",
    "10.0.0.5",
  ],
  [
    "private",
    "10.255.255.255:22",
    "refused: 10.255.255.255 is in a private range this host has not opened (start the agent with --allow-net 10.0.0.0/8)",
    "10.255.255.255",
  ],
  [
    "private",
    "172.16.0.1:22",
    "refused: 172.16.0.1 is in a private range this host has not opened (start the agent with --allow-net 172.16.0.0/12)",
    "172.16.0.1",
  ],
  [
    "private",
    "172.31.255.254:22",
    "refused: 172.31.255.254 is in a private range this host has not opened (start the agent with --allow-net 172.16.0.0/12)",
    "172.31.255.254",
  ],
  [
    "private",
    "192.168.1.1:80",
    "refused: 192.168.1.1 is in a private range this host has not opened (start the agent with --allow-net 192.168.0.0/16)",
    "192.168.1.1",
  ],
  [
    "private (CGNAT)",
    "100.64.0.1:22",
    "refused: 100.64.0.1 is in a private range this host has not opened (start the agent with --allow-net 100.64.0.0/10)",
    "100.64.0.1",
  ],
  [
    "private (CGNAT)",
    "100.127.255.254:22",
    "refused: 100.127.255.254 is in a private range this host has not opened (start the agent with --allow-net 100.64.0.0/10)",
    "100.127.255.254",
  ],
  [
    "private (ULA)",
    "[fc00::1]:22",
    "refused: fc00::1 is in a private range this host has not opened (start the agent with --allow-net fc00::/7)",
    "fc00::1",
  ],
  [
    "private (ULA)",
    "[FD12:3456:0::1]:22",
    "refused: fd12:3456::1 is in a private range this host has not opened (start the agent with --allow-net fc00::/7)",
    "fd12:3456::1",
  ],
  [
    "NAT64 of private",
    "[64:ff9b::10.0.0.5]:22",
    "refused: 64:ff9b::a00:5 is a NAT64 address (RFC 6052) for 10.0.0.5, a private range this host has not opened",
    "64:ff9b::a00:5",
  ],
  [
    "reserved",
    "192.0.2.1:80",
    "refused: 192.0.2.1 is in a reserved range this host has not opened (documentation TEST-NET-1, RFC 5737; start the agent with --allow-net 192.0.2.1/32)",
    "192.0.2.1",
  ],
  [
    "reserved",
    "240.0.0.1:80",
    "refused: 240.0.0.1 is in a reserved range this host has not opened (reserved for future use, RFC 1112 §4; start the agent with --allow-net 240.0.0.1/32)",
    "240.0.0.1",
  ],
  [
    "reserved",
    "0.1.2.3:80",
    "refused: 0.1.2.3 is in a reserved range this host has not opened ('this network', RFC 791; start the agent with --allow-net 0.1.2.3/32)",
    "0.1.2.3",
  ],
  [
    "reserved",
    "[2001:db8::1]:80",
    "refused: 2001:db8::1 is in a reserved range this host has not opened (documentation, RFC 3849; start the agent with --allow-net 2001:db8::1/128)",
    "2001:db8::1",
  ],
  [
    "public",
    "8.8.8.8:53",
    "refused: 8.8.8.8 is an address outside this host and the networks it has opened (start the agent with --allow-net 8.8.8.8/32)",
    "8.8.8.8",
  ],
  [
    "public",
    "[2606:4700::1111]:53",
    "refused: 2606:4700::1111 is an address outside this host and the networks it has opened (start the agent with --allow-net 2606:4700::1111/128)",
    "2606:4700::1111",
  ],
  [
    "NAT64 of public",
    "[64:ff9b::8.8.8.8]:53",
    "refused: 64:ff9b::808:808 is a NAT64 address (RFC 6052) for 8.8.8.8, an address outside this host and the networks it has opened",
    "64:ff9b::808:808",
  ],
];

describe("checkApiServiceTarget refuses until --allow-net opens the network", () => {
  it.each(UNLESS_OPENED)("%s: %j", (_category, target, reason, address) => {
    expect(check(target, closed)).toEqual({ ok: false, reason });
    const port = Number(target.slice(target.lastIndexOf(":") + 1));
    expect(check(target, wideOpen)).toEqual({ ok: true, address, port });
  });
});

describe("checkApiServiceTarget allows the host's loopback without any option", () => {
  it.each([
    ["127.0.0.1:22", "127.0.0.1"],
    ["127.0.0.0:22", "127.0.0.0"],
    ["127.1.2.3:22", "127.1.2.3"],
    ["127.255.255.254:22", "127.255.255.254"],
    ["127.255.255.255:22", "127.255.255.255"],
    ["[::1]:22", "::1"],
    ["[0:0:0:0:0:0:0:1]:22", "::1"],
    ["[0000::0001]:22", "::1"],
  ])("%s", (target, address) => {
    expect(check(target, closed)).toEqual({ ok: true, address, port: 22 });
  });
});

describe("--allow-net opens exactly its range", () => {
  const opened = policy(
    false,
    "10.1.0.0/16",
    "192.0.2.128/25",
    "203.0.113.7/32",
    "fd12:3456::/48",
    "2001:db8:aa::/127",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "fd00::/8",
  );

  it.each([
    ["10.1.0.0:1", true],
    ["10.1.0.1:1", true],
    ["10.1.255.255:1", true],
    ["10.0.255.255:1", false],
    ["10.2.0.0:1", false],
    ["10.0.0.5:1", false],
    ["192.0.2.128:1", true],
    ["192.0.2.255:1", true],
    ["192.0.2.127:1", false],
    ["203.0.113.7:1", true],
    ["203.0.113.6:1", false],
    ["203.0.113.8:1", false],
    ["[fd12:3456::]:1", true],
    ["[fd12:3456:ffff:ffff:ffff:ffff:ffff:ffff]:1", true],
    ["[fd12:3455:ffff:ffff:ffff:ffff:ffff:ffff]:1", true], // inside the opened fd00::/8
    ["[fc12:3457::]:1", false],
    ["[2001:db8:aa::]:1", true],
    ["[2001:db8:aa::1]:1", true],
    ["[2001:db8:aa::2]:1", false],
    ["[2001:db8:a9:ffff:ffff:ffff:ffff:ffff]:1", false],
    ["100.100.100.100:1", true],
    // Opening the networks around metadata and link-local addresses does not open those.
    ["100.100.100.200:1", false],
    ["169.254.169.254:1", false],
    ["169.254.1.1:1", false],
    ["[fd00:ec2::254]:1", false],
    ["[fd00:ec2::1]:1", true],
    // Nor does an opened IPv4 network open its IPv4-mapped spelling.
    ["[::ffff:10.1.0.5]:1", false],
  ])("%s → %s", (target, allowed) => {
    expect(check(target, opened).ok).toBe(allowed);
  });

  it("opens only the IPv4 network an IPv6 NAT64 address carries", () => {
    expect(check("[64:ff9b::10.1.0.5]:1", opened)).toEqual({ ok: true, address: "64:ff9b::a01:5", port: 1 });
    expect(check("[64:ff9b::10.2.0.5]:1", opened).ok).toBe(false);
  });
});

describe("checkApiServiceTarget on bare ports", () => {
  it("refuses them on a host without --allow-loopback", () => {
    expect(check("5432", closed)).toEqual({
      ok: false,
      reason: "refused: bare ports need an agent started with --allow-loopback",
    });
  });

  it.each([
    ["5432", { ok: true, address: "127.0.0.1", port: 5432 }],
    ["1", { ok: true, address: "127.0.0.1", port: 1 }],
    ["65535", { ok: true, address: "127.0.0.1", port: 65535 }],
    ["0", { ok: false, reason: "refused: port '0' is out of range (1..65535)" }],
    ["65536", { ok: false, reason: "refused: port '65536' is out of range (1..65535)" }],
    ["05432", { ok: false, reason: "refused: port '05432' has a leading zero" }],
  ])("with --allow-loopback: %s", (target, decision) => {
    expect(check(target, policy(true))).toEqual(decision);
  });
});

describe("checkApiServiceTarget defers names to connect time", () => {
  it.each(["db.internal:5432", "localhost:22", "LOCALHOST:22", "metadata.google.internal:80"])(
    "%s",
    (target) => {
      expect(check(target, closed)).toEqual({ ok: true, deferred: true });
    },
  );
});

describe("checkApiServiceTarget checks its inputs", () => {
  it("throws TypeError for a target that is not a string", () => {
    expect(() => checkApiServiceTarget(22 as unknown as string, closed)).toThrow(
      new TypeError("Cannot check service target: expected a string, got number"),
    );
  });

  it.each([
    [undefined, "policy.allowLoopback must be a boolean"],
    [{ allowLoopback: "yes", allowNets: [] }, "policy.allowLoopback must be a boolean"],
    [{ allowLoopback: false }, "policy.allowNets must be an array of CIDRs from parseCidr"],
    [
      { allowLoopback: false, allowNets: ["10.0.0.0/8"] },
      "policy.allowNets must be an array of CIDRs from parseCidr",
    ],
  ])("throws TypeError for policy %j", (p, why) => {
    expect(() => checkApiServiceTarget("127.0.0.1:22", p as unknown as PolicyConfig)).toThrow(
      new TypeError(`Cannot check service target: ${why}`),
    );
  });
});
