import { lookup } from "node:dns/promises";
import { describe, expect, it } from "vitest";
import { parseCidr } from "./parse-cidr.ts";
import { resolveStreamTarget } from "./resolve-stream-target.ts";
import type { PolicyConfig, Resolver, Service, ServiceSource } from "./types.ts";

const policy = (allowLoopback: boolean, ...nets: string[]): PolicyConfig => ({
  allowLoopback,
  allowNets: nets.map(parseCidr),
});
const closed = policy(false);

function services(...entries: [name: string, target: string, source: ServiceSource][]): Map<string, Service> {
  return new Map(entries.map(([name, target, source]) => [name, { name, target, source }]));
}

/**
 * A fake DNS (no real zone can be set up offline): answers from a table, rejects for names it does not
 * know, and records every question so tests can tell whether resolution happened at all.
 */
function fakeResolver(zone: Record<string, string[] | Error | unknown> = {}) {
  const asked: string[] = [];
  const resolve: Resolver = async (host) => {
    asked.push(host);
    if (!(host in zone)) throw new Error(`queryA ENOTFOUND ${host}`);
    const answer = zone[host];
    if (answer instanceof Error) throw answer;
    return answer as string[];
  };
  return { resolve, asked };
}

/** A resolver that must not be called. */
const noDns: Resolver = async (host) => {
  throw new Error(`resolver called for ${host}`);
};

describe("bare ports", () => {
  const ssh = services(["ssh", "127.0.0.1:22", "local"]);

  it.each([5432, "5432"])("%j is refused without --allow-loopback", async (want) => {
    expect(await resolveStreamTarget(want, ssh, closed, noDns)).toEqual({
      ok: false,
      reason: "refused: bare ports need an agent started with --allow-loopback",
    });
  });

  it.each([
    [5432, { ok: true, address: "127.0.0.1", port: 5432 }],
    ["5432", { ok: true, address: "127.0.0.1", port: 5432 }],
    [1, { ok: true, address: "127.0.0.1", port: 1 }],
    ["65535", { ok: true, address: "127.0.0.1", port: 65535 }],
    [0, { ok: false, reason: "refused: port 0 is out of range (1..65535)" }],
    [65536, { ok: false, reason: "refused: port 65536 is out of range (1..65535)" }],
    [-22, { ok: false, reason: "refused: port -22 is out of range (1..65535)" }],
    [22.5, { ok: false, reason: "refused: port 22.5 is out of range (1..65535)" }],
    [Number.NaN, { ok: false, reason: "refused: port NaN is out of range (1..65535)" }],
    ["0", { ok: false, reason: "refused: port '0' is out of range (1..65535)" }],
    ["65536", { ok: false, reason: "refused: port '65536' is out of range (1..65535)" }],
    ["05432", { ok: false, reason: "refused: port '05432' has a leading zero" }],
  ])("%j with --allow-loopback", async (want, decision) => {
    expect(await resolveStreamTarget(want, ssh, policy(true), noDns)).toEqual(decision);
  });
});

describe("unknown services", () => {
  it.each([
    [
      "redis",
      services(["ssh", "127.0.0.1:22", "local"], ["web", "127.0.0.1:80", "api"]),
      "unknown service 'redis' (known: ssh, web)",
    ],
    [
      "redis",
      services(["web", "127.0.0.1:80", "api"], ["ssh", "127.0.0.1:22", "local"]),
      "unknown service 'redis' (known: ssh, web)",
    ],
    ["redis", services(), "unknown service 'redis' (this host declares no services)"],
    ["SSH", services(["ssh", "127.0.0.1:22", "local"]), "unknown service 'SSH' (known: ssh)"],
    ["red\nis", services(["ssh", "127.0.0.1:22", "local"]), "unknown service 'red\\u000ais' (known: ssh)"],
    ["x", services(["it's", "127.0.0.1:22", "local"]), "unknown service 'x' (known: 'it\\'s')"],
  ])("%j", async (want, known, reason) => {
    expect(await resolveStreamTarget(want, known, closed, noDns)).toEqual({ ok: false, reason });
  });

  it("lists at most 20 names", async () => {
    const many = services(
      ...Array.from({ length: 25 }, (_, i): [string, string, ServiceSource] => [
        `s${String(i).padStart(2, "0")}`,
        "127.0.0.1:1",
        "local",
      ]),
    );
    const decision = await resolveStreamTarget("nope", many, closed, noDns);
    expect(decision).toEqual({
      ok: false,
      reason: `unknown service 'nope' (known: ${Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, "0")}`).join(", ")}, and 5 more)`,
    });
  });
});

describe("services from the agent's own config go wherever the owner pointed them", () => {
  it.each([
    ["169.254.169.254:80", "169.254.169.254", 80],
    ["10.0.0.5:5432", "10.0.0.5", 5432],
    ["8.8.8.8:53", "8.8.8.8", 53],
    ["0.0.0.0:22", "0.0.0.0", 22],
    ["[fe80::1]:22", "fe80::1", 22],
    ["[FD00:EC2::254]:80", "fd00:ec2::254", 80],
    ["[::ffff:10.0.0.5]:22", "::ffff:10.0.0.5", 22],
    ["127.0.0.1:22", "127.0.0.1", 22],
    ["5432", "127.0.0.1", 5432],
    // Names are the owner's too: returned as written, never looked up here.
    ["db.internal:5432", "db.internal", 5432],
    ["metadata.google.internal:80", "metadata.google.internal", 80],
    ["Printer.LAN:631", "printer.lan", 631],
  ])("%s", async (target, address, port) => {
    const local = services(["svc", target, "local"]);
    expect(await resolveStreamTarget("svc", local, closed, noDns)).toEqual({ ok: true, address, port });
  });

  it.each([
    [
      "127.1:22",
      `refused: service 'svc' in the agent's config: '127.1' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)`,
    ],
    [
      "2130706433:22",
      `refused: service 'svc' in the agent's config: '2130706433' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)`,
    ],
    [
      "[fe80::1%eth0]:22",
      "refused: service 'svc' in the agent's config: 'fe80::1%eth0' has a zone id, which a target cannot carry",
    ],
    [
      "127.0.0.1:70000",
      "refused: service 'svc' in the agent's config: port '70000' is out of range (1..65535)",
    ],
    ["0", "refused: service 'svc' in the agent's config: port '0' is out of range (1..65535)"],
  ])("still refuses a malformed one, never guessing: %s", async (target, reason) => {
    const local = services(["svc", target, "local"]);
    expect(await resolveStreamTarget("svc", local, closed, noDns)).toEqual({ ok: false, reason });
  });
});

describe("services added through the API", () => {
  const opened = policy(false, "10.1.0.0/16", "fd12:3456::/48");

  it.each([
    ["127.0.0.1:22", closed, { ok: true, address: "127.0.0.1", port: 22 }],
    ["[::1]:22", closed, { ok: true, address: "::1", port: 22 }],
    ["10.1.2.3:5432", opened, { ok: true, address: "10.1.2.3", port: 5432 }],
    ["[fd12:3456::9]:5432", opened, { ok: true, address: "fd12:3456::9", port: 5432 }],
    [
      "169.254.169.254:80",
      opened,
      { ok: false, reason: "refused: 169.254.169.254 is a cloud metadata address" },
    ],
    [
      "10.0.0.5:5432",
      opened,
      {
        ok: false,
        reason:
          "refused: 10.0.0.5 is in a private range this host has not opened (start the agent with --allow-net 10.0.0.0/8)",
      },
    ],
    [
      "0x7f.1:22",
      opened,
      {
        ok: false,
        reason:
          "refused: '0x7f.1' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)",
      },
    ],
    [
      "5432",
      closed,
      { ok: false, reason: "refused: bare ports need an agent started with --allow-loopback" },
    ],
    ["5432", policy(true), { ok: true, address: "127.0.0.1", port: 5432 }],
  ])("IP target %s", async (target, p, decision) => {
    const api = services(["svc", target, "api"]);
    expect(await resolveStreamTarget("svc", api, p, noDns)).toEqual(decision);
  });

  describe("names: every resolved address is checked, and the checked one is returned", () => {
    it.each([
      [["127.0.0.1", "::1"], "127.0.0.1"],
      [["::1", "127.0.0.1"], "::1"],
      [["127.0.0.1"], "127.0.0.1"],
      [["0:0:0:0:0:0:0:1"], "::1"],
    ])("localhost → %j connects to %s", async (answers, address) => {
      const dns = fakeResolver({ localhost: answers });
      const api = services(["web", "localhost:8080", "api"]);
      expect(await resolveStreamTarget("web", api, closed, dns.resolve)).toEqual({
        ok: true,
        address,
        port: 8080,
      });
      expect(dns.asked).toEqual(["localhost"]);
    });

    it("asks for the canonical lowercase name", async () => {
      const dns = fakeResolver({ "db.internal": ["10.1.0.9"] });
      const api = services(["db", "DB.Internal:5432", "api"]);
      expect(await resolveStreamTarget("db", api, opened, dns.resolve)).toEqual({
        ok: true,
        address: "10.1.0.9",
        port: 5432,
      });
      expect(dns.asked).toEqual(["db.internal"]);
    });

    it.each([
      [
        ["127.0.0.1", "10.0.0.9"],
        "refused: db.internal resolves to 10.0.0.9, a private range this host has not opened",
      ],
      [
        ["10.0.0.9", "127.0.0.1"],
        "refused: db.internal resolves to 10.0.0.9, a private range this host has not opened",
      ],
      [
        ["10.1.0.9", "169.254.169.254"],
        "refused: db.internal resolves to 169.254.169.254, a cloud metadata address",
      ],
      [
        ["10.1.0.9", "fd00:ec2::254"],
        "refused: db.internal resolves to fd00:ec2::254, a cloud metadata address",
      ],
      [["::1", "fe80::1"], "refused: db.internal resolves to fe80::1, a link-local address"],
      [["127.0.0.1", "0.0.0.0"], "refused: db.internal resolves to 0.0.0.0, the unspecified address"],
      [["127.0.0.1", "::"], "refused: db.internal resolves to ::, the unspecified address"],
      [["10.1.0.9", "224.0.0.1"], "refused: db.internal resolves to 224.0.0.1, a multicast address"],
      [
        ["10.1.0.9", "255.255.255.255"],
        "refused: db.internal resolves to 255.255.255.255, the broadcast address",
      ],
      [
        ["127.0.0.1", "::ffff:127.0.0.1"],
        "refused: db.internal resolves to ::ffff:127.0.0.1, an IPv4-mapped IPv6 address (write IPv4 destinations as plain IPv4)",
      ],
      [
        ["10.1.0.9", "64:ff9b::a9fe:a9fe"],
        "refused: db.internal resolves to 64:ff9b::a9fe:a9fe, a NAT64 address (RFC 6052) for 169.254.169.254, a cloud metadata address",
      ],
      [
        ["10.1.0.9", "93.184.216.34"],
        "refused: db.internal resolves to 93.184.216.34, an address outside this host and the networks it has opened",
      ],
      [
        ["10.1.0.9", "fd12:3457::1"],
        "refused: db.internal resolves to fd12:3457::1, a private range this host has not opened",
      ],
      [["127.1"], "refused: db.internal resolves to '127.1', which is not a valid address"],
      [["2130706433"], "refused: db.internal resolves to '2130706433', which is not a valid address"],
      [["fe80::1%eth0"], "refused: db.internal resolves to 'fe80::1%eth0', which is not a valid address"],
      [["10.1.0.9", 167837705], "refused: db.internal resolves to number, which is not a valid address"],
    ])("db.internal → %j is refused: one forbidden address refuses the lot", async (answers, reason) => {
      const dns = fakeResolver({ "db.internal": answers });
      const api = services(["db", "db.internal:5432", "api"]);
      expect(await resolveStreamTarget("db", api, opened, dns.resolve)).toEqual({ ok: false, reason });
    });

    it("resolves once per stream and connects to what it checked (a rebinding name cannot switch later)", async () => {
      const answers = [["127.0.0.1"], ["169.254.169.254"]];
      const asked: string[] = [];
      const rebinding: Resolver = async (host) => {
        asked.push(host);
        return answers[asked.length - 1] ?? [];
      };
      const api = services(["web", "rebind.example:80", "api"]);
      expect(await resolveStreamTarget("web", api, closed, rebinding)).toEqual({
        ok: true,
        address: "127.0.0.1",
        port: 80,
      });
      expect(asked).toHaveLength(1);
      expect(await resolveStreamTarget("web", api, closed, rebinding)).toEqual({
        ok: false,
        reason: "refused: rebind.example resolves to 169.254.169.254, a cloud metadata address",
      });
    });

    it.each([
      [
        new Error("queryA ENOTFOUND db.internal"),
        "refused: cannot resolve db.internal (queryA ENOTFOUND db.internal)",
      ],
      [new Error("timed out\nafter 5 s"), "refused: cannot resolve db.internal (timed out after 5 s)"],
      [new Error(""), "refused: cannot resolve db.internal (no reason given)"],
      [new Error("x".repeat(500)), `refused: cannot resolve db.internal (${"x".repeat(160)}...)`],
    ])("a resolver failure is a clear refusal: %s", async (error, reason) => {
      const dns = fakeResolver({ "db.internal": error });
      const api = services(["db", "db.internal:5432", "api"]);
      expect(await resolveStreamTarget("db", api, closed, dns.resolve)).toEqual({ ok: false, reason });
    });

    it.each([
      [async () => Promise.reject("SERVFAIL"), "refused: cannot resolve db.internal (SERVFAIL)"],
      [
        () => {
          throw new Error("sync throw");
        },
        "refused: cannot resolve db.internal (sync throw)",
      ],
      [async () => [], "refused: db.internal does not resolve to any address"],
      [async () => null, "refused: db.internal does not resolve to any address"],
      [async () => "127.0.0.1", "refused: db.internal does not resolve to any address"],
    ])("a resolver that answers nothing usable is a clear refusal (%#)", async (resolve, reason) => {
      const api = services(["db", "db.internal:5432", "api"]);
      expect(await resolveStreamTarget("db", api, closed, resolve as unknown as Resolver)).toEqual({
        ok: false,
        reason,
      });
    });
  });

  it("resolves localhost with the system resolver (Node's getaddrinfo, as a Bun adapter would)", async () => {
    const system: Resolver = async (host) =>
      (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    const api = services(["web", "localhost:8080", "api"]);
    const decision = await resolveStreamTarget("web", api, closed, system);
    expect(decision).toMatchObject({ ok: true, port: 8080 });
    expect(["127.0.0.1", "::1"]).toContain((decision as { address: string }).address);
  });
});

describe("resolveStreamTarget checks its inputs", () => {
  const ssh = services(["ssh", "127.0.0.1:22", "local"]);

  it.each([
    [
      () => resolveStreamTarget(null as unknown as string, ssh, closed, noDns),
      "want must be a service name or a port, got object",
    ],
    [
      () => resolveStreamTarget("ssh", {} as never, closed, noDns),
      "services must be a Map of service name to Service",
    ],
    [
      () => resolveStreamTarget("ssh", ssh, { allowLoopback: 1 } as never, noDns),
      "policy.allowLoopback must be a boolean",
    ],
    [() => resolveStreamTarget("ssh", ssh, closed, "dns" as never), "resolve must be a function"],
    [
      () =>
        resolveStreamTarget(
          "x",
          new Map([["x", { name: "x", target: "127.0.0.1:1", source: "cp" as never }]]),
          closed,
          noDns,
        ),
      "service 'x' has source 'cp'",
    ],
    [
      () =>
        resolveStreamTarget(
          "x",
          new Map([["x", { name: "x", target: 22 as never, source: "api" as const }]]),
          closed,
          noDns,
        ),
      "service 'x' has no target text",
    ],
  ])("throws TypeError (%#)", async (call, why) => {
    await expect(call()).rejects.toThrow(new TypeError(`Cannot resolve stream target: ${why}`));
  });
});
