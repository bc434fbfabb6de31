// Every route, called with tenant B's admin key against tenant A's ids, answers 404 — never 403, never
// data — and changes nothing of A's.
import { afterAll, beforeAll, expect, it } from "vitest";
import { encodeExecSpec } from "../schema/protocol/exec-spec.ts";
import { encodePtySpec } from "../schema/protocol/pty-spec.ts";
import { exposureAddress, exposureFetch } from "./harness/exposure.ts";
import { insertHost } from "./harness/fixtures.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

it("hides every one of tenant A's resources from tenant B", async () => {
  const a = await stack.tenant("tenant-a");
  const b = await stack.tenant("tenant-b");
  const cluster = (await a.client.clusters.create("prod")).cluster;
  const site = (await a.client.sites.create("prod", "fra1")).site;
  const token = (await a.client.tokens.create({ cluster: "prod", site: "fra1" })).enrollment;
  const key = (await a.client.keys.create({ role: "viewer" })).key;
  const hostId = await insertHost(stack.dbUrl, {
    tenantId: a.id,
    clusterId: cluster.id,
    siteId: site.id,
    name: "web01",
  });
  const otherHostId = await insertHost(stack.dbUrl, {
    tenantId: a.id,
    clusterId: cluster.id,
    siteId: site.id,
    name: "db01",
  });
  await a.client.services.add(hostId, "web", "127.0.0.1:8080");
  const { route } = await a.client.mesh.add(hostId, "127.0.0.1:15001", `${otherHostId}:web`);
  const { exposure } = await a.client.exposures.create(hostId, "web", "a-shop");
  // B has a cluster of the same name, so name-based lookups must not leak across tenants either.
  await b.client.clusters.create("other");

  const routes: Array<[string, string, object?]> = [
    ["GET", `/v1/clusters/${cluster.id}`],
    ["DELETE", `/v1/clusters/${cluster.id}`],
    ["GET", `/v1/clusters/${cluster.id}/sites`],
    ["POST", `/v1/clusters/${cluster.id}/sites`, { name: "x" }],
    ["GET", `/v1/clusters/${cluster.id}/sites/${site.id}`],
    ["DELETE", `/v1/clusters/${cluster.id}/sites/${site.id}`],
    ["POST", "/v1/tokens", { cluster: cluster.id, site: site.id }],
    ["DELETE", `/v1/tokens/${token.id}`],
    ["DELETE", `/v1/keys/${key.id}`],
    ["GET", `/v1/hosts/${hostId}`],
    ["POST", `/v1/hosts/${hostId}/revoke`],
    ["DELETE", `/v1/hosts/${hostId}`],
    ["GET", "/v1/hosts/web01.prod"],
    ["GET", `/v1/hosts?cluster=${cluster.id}`],
    ["GET", `/v1/hosts/${hostId}/services`],
    ["POST", `/v1/hosts/${hostId}/services`, { name: "ssh", target: "127.0.0.1:22" }],
    ["DELETE", `/v1/hosts/${hostId}/services/web`],
    ["GET", `/v1/hosts/${hostId}/tcp?target=web`],
    ["GET", `/v1/hosts/${hostId}/exec?spec=${encodeExecSpec({ argv: ["id"] })}`],
    ["GET", `/v1/hosts/${hostId}/pty?spec=${encodePtySpec({ cols: 80, rows: 24 })}`],
    ["GET", `/v1/sessions?host=${hostId}`],
    ["GET", `/v1/mesh?cluster=${cluster.id}`],
    ["POST", "/v1/mesh", { from: hostId, listen: "127.0.0.1:15000", to: `${otherHostId}:web` }],
    ["DELETE", `/v1/mesh/${route.id}`],
    ["POST", "/v1/exposures", { host: hostId, service: "web", name: "b-shop" }],
    ["POST", "/v1/exposures/a-shop/links", { ttl: "1h" }],
    ["DELETE", "/v1/exposures/a-shop/links"],
    ["DELETE", "/v1/exposures/a-shop"],
  ];
  for (const [method, path, body] of routes) {
    const res = await raw(stack, method, path, { token: b.token, ...(body ? { body } : {}) });
    expect(res.status, `${method} ${path}`).toBe(404);
    expect(JSON.stringify(res.body), `${method} ${path}`).not.toContain(a.id);
  }

  // Listings show B only its own rows.
  for (const path of [
    "/v1/clusters",
    "/v1/sites",
    "/v1/tokens",
    "/v1/keys",
    "/v1/hosts",
    "/v1/audit",
    "/v1/sessions",
    "/v1/mesh",
    "/v1/exposures",
  ]) {
    const res = await raw(stack, "GET", path, { token: b.token });
    expect(res.status, path).toBe(200);
    // B's own refusals above are audited with the targets B typed (A's ids, which B had to know):
    // B's input, not A's data. Every other row must not mention A.
    const body =
      path === "/v1/audit"
        ? (res.body.events as { outcome: string; details: { status?: number } }[]).filter(
            (e) => !(e.outcome === "denied" && e.details.status === 404),
          )
        : res.body;
    const text = JSON.stringify(body);
    for (const id of [cluster.id, site.id, token.id, key.id, hostId, a.id, route.id, exposure.id])
      expect(text, path).not.toContain(id);
  }

  // Nothing of A's changed.
  expect((await a.client.clusters.get("prod")).cluster.id).toBe(cluster.id);
  expect((await a.client.hosts.get(hostId)).host.revokedAt).toBeNull();
  expect((await a.client.tokens.list()).tokens.find((t) => t.id === token.id)?.state).toBe("active");
  expect((await a.client.keys.list()).keys.find((k) => k.id === key.id)?.revokedAt).toBeNull();
  expect((await a.client.services.list(hostId)).services.map((x) => x.name)).toEqual(["web"]);
  expect((await a.client.mesh.list()).routes.map((r) => r.id)).toEqual([route.id]);
  expect((await a.client.exposures.list()).exposures.map((e) => e.id)).toEqual([exposure.id]);
  // B's key does not open A's exposure either.
  const served = await exposureFetch(exposureAddress(stack, "a-shop").url, {
    headers: { authorization: `Bearer ${b.token}` },
  });
  expect(served.status).toBe(403);
  expect(await served.text()).not.toContain(a.id);
});
