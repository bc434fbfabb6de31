// Every route of the HTTP API against real workerd and a real libSQL server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeExecSpec } from "../schema/protocol/exec-spec.ts";
import { MAX_CONFIG_ENTRIES } from "../schema/protocol/index.ts";
import { type Outpost, OutpostApiError } from "../sdk/index.ts";
import { insertHost } from "./harness/fixtures.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let acme: Awaited<ReturnType<Stack["tenant"]>>;

beforeAll(async () => {
  stack = await startStack();
  acme = await stack.tenant("acme");
});
afterAll(() => stack?.close());

/**
 * A new cluster of `tenant` with one site and a host of each of `names`, written straight into the
 * database (no agent enrols). The hosts' ids, in order.
 */
async function clusterWithHosts<const Names extends readonly string[]>(
  tenant: { id: string; client: Outpost },
  cluster: string,
  names: Names,
): Promise<{ clusterId: string; hostIds: { [I in keyof Names]: string } }> {
  const c = await tenant.client.clusters.create(cluster);
  const s = await tenant.client.sites.create(cluster, "x");
  const row = { tenantId: tenant.id, clusterId: c.cluster.id, siteId: s.site.id };
  const hostIds = await Promise.all(names.map((name) => insertHost(stack.dbUrl, { ...row, name })));
  return { clusterId: c.cluster.id, hostIds: hostIds as { [I in keyof Names]: string } };
}

async function refused(p: Promise<unknown>): Promise<OutpostApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutpostApiError);
  return err as OutpostApiError;
}

describe("health", () => {
  it("checks the database", async () => {
    expect(await stack.admin.health()).toEqual({ ok: true, database: "ok" });
  });
});

describe("tenants (platform admin)", () => {
  it("creates a tenant with a working admin key, once", async () => {
    const res = await stack.admin.tenants.create("globex");
    expect(res.token).toMatch(/^opk_[0-9a-z]{12}_[0-9a-z]{40}$/);
    expect(res.key).not.toHaveProperty("hash");
    const list = await stack.admin.tenants.list();
    expect(list.tenants.map((t) => t.name)).toContain("globex");
    expect((await refused(stack.admin.tenants.create("globex"))).status).toBe(409);
  });

  it("refuses tenant keys and wrong admin tokens with 401", async () => {
    expect((await raw(stack, "GET", "/v1/tenants", { token: acme.token })).status).toBe(401);
    expect((await raw(stack, "GET", "/v1/tenants", { token: "nope" })).status).toBe(401);
    expect((await raw(stack, "GET", "/v1/tenants")).status).toBe(401);
  });
});

describe("authentication", () => {
  it("answers 401 for missing, malformed, wrong, revoked and expired keys", async () => {
    const missing = await raw(stack, "GET", "/v1/clusters");
    expect(missing.status).toBe(401);
    expect(missing.body.error?.message).toMatch(/missing API key/);

    expect((await raw(stack, "GET", "/v1/clusters", { token: "opk_bad" })).status).toBe(401);

    const forged = `${acme.token.slice(0, -4)}aaaa`;
    const wrong = await raw(stack, "GET", "/v1/clusters", {
      token: forged === acme.token ? `${acme.token.slice(0, -4)}bbbb` : forged,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toEqual({ code: "unauthorized", message: "invalid API key" });

    const revoked = await acme.client.keys.create({ role: "viewer", name: "to-revoke" });
    expect((await raw(stack, "GET", "/v1/clusters", { token: revoked.token })).status).toBe(200);
    await acme.client.keys.revoke(revoked.key.id);
    const after = await raw(stack, "GET", "/v1/clusters", { token: revoked.token });
    expect(after.status).toBe(401);
    expect(after.body.error?.message).toMatch(/revoked/);

    const expiring = await acme.client.keys.create({ role: "viewer", ttl: "1m" });
    // Expire it by moving its expiry into the past in the real database.
    const { createClient } = await import("@libsql/client");
    const db = createClient({ url: stack.dbUrl });
    await db.execute({
      sql: "update api_keys set expires_at = ? where id = ?",
      args: [Date.now() - 1000, expiring.key.id],
    });
    db.close();
    const expired = await raw(stack, "GET", "/v1/clusters", { token: expiring.token });
    expect(expired.status).toBe(401);
    expect(expired.body.error?.message).toMatch(/expired/);

    const events = await acme.client.audit({ limit: 50 });
    const denied = events.events.filter((e) => e.outcome === "denied").map((e) => e.details.reason);
    expect(denied).toEqual(expect.arrayContaining(["revoked", "expired"]));
  });

  it("records last use of a key", async () => {
    const k = await acme.client.keys.create({ role: "viewer" });
    await raw(stack, "GET", "/v1/clusters", { token: k.token });
    const keys = await acme.client.keys.list();
    expect(keys.keys.find((x) => x.id === k.key.id)?.lastUsedAt).toBeTruthy();
  });
});

describe("roles", () => {
  it("lets viewers read but not change, and audits the refusal", async () => {
    const viewer = await acme.client.keys.create({ role: "viewer" });
    expect((await raw(stack, "GET", "/v1/clusters", { token: viewer.token })).status).toBe(200);
    const denied = await raw(stack, "POST", "/v1/clusters", { token: viewer.token, body: { name: "nope" } });
    expect(denied.status).toBe(403);
    expect(denied.body.error?.message).toMatch(/admin role/);
    for (const [method, path, body] of [
      ["POST", "/v1/keys", { role: "admin" }],
      ["GET", "/v1/keys", undefined],
      ["POST", "/v1/tokens", { cluster: "x", site: "y" }],
      ["DELETE", "/v1/clusters/x", undefined],
    ] as const) {
      expect(
        (await raw(stack, method, path, { token: viewer.token, ...(body ? { body } : {}) })).status,
      ).toBe(403);
    }
    const events = await acme.client.audit({ limit: 10 });
    expect(events.events.some((e) => e.outcome === "denied" && e.actor === `key:${viewer.key.id}`)).toBe(
      true,
    );
  });

  it("does not let operators manage clusters, tokens or keys", async () => {
    const op = await acme.client.keys.create({ role: "operator" });
    expect(
      (await raw(stack, "POST", "/v1/clusters", { token: op.token, body: { name: "opc" } })).status,
    ).toBe(403);
    expect((await raw(stack, "POST", "/v1/keys", { token: op.token, body: { role: "admin" } })).status).toBe(
      403,
    );
    expect((await raw(stack, "GET", "/v1/hosts", { token: op.token })).status).toBe(200);
  });
});

describe("clusters and sites", () => {
  it("creates, lists, gets and deletes", async () => {
    const c = await acme.client.clusters.create("prod");
    expect(c.cluster.id).toMatch(/^cl_/);
    expect((await acme.client.clusters.get("prod")).cluster.id).toBe(c.cluster.id);
    expect((await acme.client.clusters.get(c.cluster.id)).cluster.name).toBe("prod");
    const s = await acme.client.sites.create("prod", "fra1");
    expect(s.site.cluster).toBe("prod");
    expect((await acme.client.sites.get("prod", "fra1")).site.id).toBe(s.site.id);
    expect((await acme.client.sites.list("prod")).sites.map((x) => x.name)).toEqual(["fra1"]);
    expect((await acme.client.sites.list()).sites.map((x) => `${x.cluster}/${x.name}`)).toContain(
      "prod/fra1",
    );
    expect((await acme.client.clusters.list()).clusters.map((x) => x.name)).toContain("prod");

    expect((await refused(acme.client.clusters.create("prod"))).status).toBe(409);
    expect((await refused(acme.client.sites.create("prod", "fra1"))).status).toBe(409);

    await acme.client.sites.delete("prod", "fra1");
    expect((await refused(acme.client.sites.get("prod", "fra1"))).status).toBe(404);
    await acme.client.clusters.delete("prod");
    expect((await refused(acme.client.clusters.get("prod"))).status).toBe(404);
  });

  it("refuses to delete a cluster or site that still has hosts (409)", async () => {
    const c = await acme.client.clusters.create("busy");
    const s = await acme.client.sites.create("busy", "a");
    await insertHost(stack.dbUrl, {
      tenantId: acme.id,
      clusterId: c.cluster.id,
      siteId: s.site.id,
      name: "web01",
    });
    const err = await refused(acme.client.clusters.delete("busy"));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/still has 1 host/);
    expect((await refused(acme.client.sites.delete("busy", "a"))).status).toBe(409);
    await acme.client.hosts.delete("web01.busy");
    await acme.client.clusters.delete("busy");
  });

  it("rejects invalid names with a 400 naming the field", async () => {
    for (const name of ["Prod", "-x", "x-", "a_b", "a".repeat(64), "", "a.b"]) {
      const res = await raw(stack, "POST", "/v1/clusters", { token: acme.token, body: { name } });
      expect(res.status, name).toBe(400);
      expect(res.body.error?.message).toMatch(/^name: must be a DNS label/);
    }
    const missing = await raw(stack, "POST", "/v1/clusters", { token: acme.token, body: {} });
    expect(missing.body.error?.message).toMatch(/^name: /);
    const wrongType = await raw(stack, "POST", "/v1/clusters", { token: acme.token, body: { name: 7 } });
    expect(wrongType.status).toBe(400);
  });

  it("rejects malformed JSON (400) and oversized bodies (413)", async () => {
    const bad = await raw(stack, "POST", "/v1/clusters", { token: acme.token, body: "{nope" });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/JSON/);
    const big = await raw(stack, "POST", "/v1/clusters", {
      token: acme.token,
      body: { name: "x".repeat(70_000) },
    });
    expect(big.status).toBe(413);
    expect(big.body.error?.code).toBe("payload_too_large");
    const long = await raw(stack, "POST", "/v1/keys", {
      token: acme.token,
      body: { role: "viewer", name: "n".repeat(65) },
    });
    expect(long.status).toBe(400);
    expect(long.body.error?.message).toMatch(/^name: /);
  });
});

describe("enrollment tokens", () => {
  it("creates with a default 15 min TTL and an install line, lists without the secret, revokes", async () => {
    await acme.client.clusters.create("tok");
    await acme.client.sites.create("tok", "s1");
    const before = Date.now();
    const t = await acme.client.tokens.create({ cluster: "tok", site: "s1" });
    expect(t.token).toMatch(/^oet_/);
    expect(t.install).toContain(`curl -fsSL ${stack.url}/install.sh | sh -s -- --token ${t.token}`);
    const ttl = Date.parse(t.enrollment.expiresAt) - before;
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000 + 5000);

    const list = await acme.client.tokens.list();
    const row = list.tokens.find((x) => x.id === t.enrollment.id)!;
    expect(row.state).toBe("active");
    expect(JSON.stringify(list)).not.toContain(t.token);
    expect(row).not.toHaveProperty("hash");

    await acme.client.tokens.revoke(t.enrollment.id);
    expect((await acme.client.tokens.list()).tokens.find((x) => x.id === t.enrollment.id)?.state).toBe(
      "revoked",
    );
    expect((await refused(acme.client.tokens.revoke(t.enrollment.id))).status).toBe(409);
  });

  it("bounds the TTL to 24h and checks the site exists", async () => {
    const long = await raw(stack, "POST", "/v1/tokens", {
      token: acme.token,
      body: { cluster: "tok", site: "s1", ttl: "25h" },
    });
    expect(long.status).toBe(400);
    expect(long.body.error?.message).toMatch(/^ttl: /);
    const ok = await acme.client.tokens.create({ cluster: "tok", site: "s1", ttl: "24h" });
    expect(Date.parse(ok.enrollment.expiresAt) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    expect((await refused(acme.client.tokens.create({ cluster: "tok", site: "nope" }))).status).toBe(404);
  });
});

describe("hosts", () => {
  it("lists with filters, gets, revokes and deletes", async () => {
    const c = await acme.client.clusters.create("fleet");
    const a = await acme.client.sites.create("fleet", "a");
    const b = await acme.client.sites.create("fleet", "b");
    const base = { tenantId: acme.id, clusterId: c.cluster.id };
    await insertHost(stack.dbUrl, {
      ...base,
      siteId: a.site.id,
      name: "web01",
      labels: { role: "web" },
      status: "online",
    });
    await insertHost(stack.dbUrl, {
      ...base,
      siteId: b.site.id,
      name: "db01",
      labels: { role: "db" },
      status: "offline",
    });

    const names = async (q: Record<string, string>) =>
      (await acme.client.hosts.list(q)).hosts.map((h) => h.fqdn).sort();
    expect(await names({ cluster: "fleet" })).toEqual(["db01.fleet", "web01.fleet"]);
    expect(await names({ cluster: "fleet", site: "a" })).toEqual(["web01.fleet"]);
    expect(await names({ cluster: "fleet", label: "role=db" })).toEqual(["db01.fleet"]);
    expect(await names({ cluster: "fleet", status: "online" })).toEqual(["web01.fleet"]);
    const badStatus = await raw(stack, "GET", "/v1/hosts?status=sleeping", { token: acme.token });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error?.message).toMatch(/^status: /);

    const web = await acme.client.hosts.get("web01.fleet");
    expect(web.host.site).toBe("a");
    expect((await acme.client.hosts.get(web.host.id)).host.name).toBe("web01");
    await acme.client.exposures.create("web01.fleet", "web", "fleet-web");
    const revoked = await acme.client.hosts.revoke("web01.fleet");
    expect(revoked.host.revokedAt).toBeTruthy();
    expect((await refused(acme.client.hosts.revoke("web01.fleet"))).status).toBe(409);
    expect((await refused(acme.client.exposures.create("web01.fleet", "web", "fleet-web2"))).status).toBe(
      409,
    );
    await acme.client.hosts.delete("web01.fleet");
    // Its exposures go with it.
    expect((await acme.client.exposures.list()).exposures.map((e) => e.name)).not.toContain("fleet-web");
    expect((await refused(acme.client.hosts.get("web01.fleet"))).status).toBe(404);
    expect((await refused(acme.client.hosts.get("nohost"))).status).toBe(400);
  });
});

describe("audit", () => {
  it("records every mutation, newest first, paginated", async () => {
    await acme.client.clusters.create("audited");
    const page1 = await acme.client.audit({ limit: 2 });
    expect(page1.events).toHaveLength(2);
    expect(page1.events[0]!.action).toBe("cluster.create");
    expect(page1.events[0]!.id).toBeGreaterThan(page1.events[1]!.id);
    expect(page1.nextCursor).toBe(page1.events[1]!.id);
    const page2 = await acme.client.audit({ limit: 2, cursor: page1.nextCursor! });
    expect(page2.events[0]!.id).toBeLessThan(page1.events[1]!.id);
    const all = await acme.client.audit({ limit: 500 });
    const actions = new Set(all.events.map((e) => e.action));
    for (const a of [
      "tenant.create",
      "key.create",
      "key.revoke",
      "cluster.create",
      "cluster.delete",
      "site.create",
      "site.delete",
      "token.create",
      "token.revoke",
      "host.revoke",
      "host.delete",
    ]) {
      expect(actions, a).toContain(a);
    }
  });
});

describe("streams, services and mesh: bad input", () => {
  it("names the field for bad services, routes, tcp targets and exec specs", async () => {
    const {
      hostIds: [h1],
    } = await clusterWithHosts(acme, "edge", ["h1", "h2"]);
    const bad: Array<[string, string, object | undefined, RegExp]> = [
      ["POST", "/v1/hosts/h1.edge/services", { name: "Bad Name", target: "127.0.0.1:22" }, /^name: /],
      ["POST", "/v1/hosts/h1.edge/services", { name: "ssh", target: "127.0.0.1" }, /^target: /],
      ["POST", "/v1/hosts/h1.edge/services", { name: "ssh", target: "127.0.0.1:70000" }, /^target: port/],
      // Longer than a config frame carries (MAX_TARGET_TEXT).
      [
        "POST",
        "/v1/hosts/h1.edge/services",
        { name: "ssh", target: `[${"0:".repeat(130)}1]:22` },
        /^target: /,
      ],
      ["POST", "/v1/mesh", { from: "h1.edge", listen: "0.0.0.0:80", to: "h2.edge:web" }, /^listen: /],
      ["POST", "/v1/mesh", { from: "h1.edge", listen: "127.0.0.1:80", to: "h2.edge" }, /^to: /],
      ["POST", "/v1/mesh", { from: "h1.edge", listen: "127.0.0.1:80", to: "h1.edge:web" }, /^to: .*itself/],
      ["GET", "/v1/hosts/h1.edge/tcp?target=../etc", undefined, /^target: /],
      ["GET", "/v1/hosts/h1.edge/tcp?target=99999", undefined, /^target: port/],
      ["GET", "/v1/hosts/h1.edge/exec?spec=not-base64-json", undefined, /^spec: /],
      ["GET", `/v1/hosts/h1.edge/exec?spec=${encodeExecSpec({ argv: [] })}`, undefined, /^spec\.argv: /],
      ["GET", `/v1/hosts/h1.edge/exec?spec=${encodeExecSpec({ argv: ["a\u0000b"] })}`, undefined, /NUL/],
    ];
    for (const [method, path, body, message] of bad) {
      const res = await raw(stack, method, path, { token: acme.token, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.body.error?.message, `${method} ${path}`).toMatch(message);
    }
    // A well-formed exec to a host whose agent is not connected is refused before any upgrade.
    const offline = await refused(acme.client.exec(h1, ["id"]));
    expect(offline.status).toBe(409);
    expect(offline.code).toBe("host_offline");
    await acme.client.services.add("h1.edge", "web", "127.0.0.1:8080");
    expect((await refused(acme.client.services.add("h1.edge", "web", "127.0.0.1:8081"))).status).toBe(409);
    expect((await refused(acme.client.services.remove("h1.edge", "nope"))).status).toBe(404);
  });

  it("refuses stream requests in the usual order: key (401), role (403), host (400 / 404)", async () => {
    await clusterWithHosts(acme, "order", ["h"]);
    const other = await stack.tenant("order-other");
    const {
      hostIds: [theirs],
    } = await clusterWithHosts(other, "theirs", ["t"]);
    const viewer = await acme.client.keys.create({ role: "viewer" });
    const revoked = await acme.client.keys.create({ role: "operator" });
    await acme.client.keys.revoke(revoked.key.id);
    const ask = async (ref: string, token?: string) => {
      // Without an upgrade (fetch cannot ask for one): a host found answers 426 instead of opening.
      const res = await raw(stack, "GET", `/v1/hosts/${ref}/tcp?target=ssh`, token ? { token } : {});
      return [res.status, res.body.error?.message ?? ""] as const;
    };
    expect(await ask("h.order")).toEqual([401, expect.stringMatching(/missing API key/)]);
    expect(await ask("not a ref", "opk_nope")).toEqual([401, expect.stringMatching(/API key/)]);
    expect(await ask("h.order", revoked.token)).toEqual([401, expect.stringMatching(/is revoked/)]);
    expect(await ask("nowhere.order", viewer.token)).toEqual([403, expect.stringMatching(/operator role/)]);
    expect(await ask("nowhere.order", acme.token)).toEqual([
      404,
      expect.stringMatching(/host 'nowhere.order'/),
    ]);
    expect(await ask("noclusterpart", acme.token)).toEqual([400, expect.stringMatching(/neither a host id/)]);
    // Another tenant's host, by id and by name: not found, as if it did not exist.
    expect((await ask(theirs, acme.token))[0]).toBe(404);
    expect((await ask("t.theirs", acme.token))[0]).toBe(404);
    // Each tenant's key finds its own host.
    expect((await ask("t.theirs", other.token))[0]).toBe(426);
    expect(await ask("h.order", acme.token)).toEqual([426, expect.stringMatching(/WebSocket upgrade/)]);
  });

  it("refuses services and routes beyond what one config frame carries (MAX_CONFIG_ENTRIES per host)", async () => {
    const {
      clusterId,
      hostIds: [from, to],
    } = await clusterWithHosts(acme, "full", ["busy", "quiet"]);
    // Fill the host to the limit in the real database, less one, then take the last place through the API.
    const { createClient } = await import("@libsql/client");
    const db = createClient({ url: stack.dbUrl });
    const rows = Array.from({ length: MAX_CONFIG_ENTRIES - 1 }, (_, i) => i);
    await db.batch(
      rows.map((i) => ({
        sql: "insert into services (id, tenant_id, host_id, name, target, created_by, created_at) values (?, ?, ?, ?, ?, 'test', ?)",
        args: [`svc_fill${i}`, acme.id, from, `s${i}`, "127.0.0.1:80", Date.now()],
      })),
    );
    await db.batch(
      rows.map((i) => ({
        sql: "insert into mesh_routes (id, tenant_id, cluster_id, from_host_id, listen, to_host_id, to_service, created_by, created_at) values (?, ?, ?, ?, ?, ?, 'web', 'test', ?)",
        args: [`mr_fill${i}`, acme.id, clusterId, from, `127.0.0.1:${20000 + i}`, to, Date.now()],
      })),
    );
    db.close();
    // Sixteen adds race for the last place: exactly one takes it (the check and the insert are one statement).
    const race = async (adds: Promise<unknown>[]) => {
      const settled = await Promise.allSettled(adds);
      const lost = settled.flatMap((r) => (r.status === "rejected" ? [r.reason as OutpostApiError] : []));
      expect(settled.length - lost.length).toBe(1);
      for (const e of lost) expect(e).toBeInstanceOf(OutpostApiError);
      expect(lost.map((e) => e.status)).toEqual(racers.slice(1).map(() => 409));
      return lost[0]!;
    };
    const racers = Array.from({ length: 16 }, (_, i) => i);
    const service = await race(
      racers.map((i) => acme.client.services.add("busy.full", `last${i}`, "127.0.0.1:81")),
    );
    expect(service.message).toMatch(/already has 1024 services, the most its agent can be told/);
    expect((await acme.client.services.list("busy.full")).services).toHaveLength(MAX_CONFIG_ENTRIES);
    const route = await race(
      racers.map((i) => acme.client.mesh.add("busy.full", `127.0.0.1:${30000 + i}`, "quiet.full:web")),
    );
    expect(route.message).toMatch(/already has 1024 routes starting on it/);
    // Another host of the cluster is not affected.
    await acme.client.services.add("quiet.full", "web", "127.0.0.1:80");
    await acme.client.mesh.add("quiet.full", "127.0.0.1:30009", "busy.full:s1");
  });
});

it("answers unknown routes with a JSON 404", async () => {
  const res = await raw(stack, "GET", "/v1/nothing", { token: acme.token });
  expect(res.status).toBe(404);
  expect(res.body.error?.code).toBe("not_found");
});
