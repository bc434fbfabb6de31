// Fan-out plans in the ClusterDO's storage: a plan for any number of hosts is stored in pieces that
// each fit a Durable Object storage value (128 KiB on Cloudflare; local workerd does not enforce it,
// so the sizes are checked here), taken back whole exactly once, and a plan missing a piece is none.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { FanoutPlan } from "../../worker/durable/cluster/fanout.ts";

const stub = (name: string) => env.FANOUT_PLANS.get(env.FANOUT_PLANS.idFromName(name));
const VALUE_LIMIT = 128 * 1024;

function plan(hosts: number): FanoutPlan {
  return {
    tenantId: "tenant_0123456789abcdef0123" as FanoutPlan["tenantId"],
    actor: "key:opk_test",
    spec: { argv: ["true"], env: { NOTE: "é".repeat(2000) } },
    maxParallel: 32,
    hosts: Array.from({ length: hosts }, (_, i) => ({
      id: `host_${String(i).padStart(26, "0")}`,
      fqdn: `web-${String(i).padStart(5, "0")}-${"x".repeat(30)}.production-cluster`,
      online: i % 3 !== 0,
    })),
    audit: { target: "cluster_0123456789abcdef0123", details: { cluster: "production-cluster" } },
  };
}

it("stores a 10,000-host plan in pieces under the value limit, and gives it back whole once", async () => {
  const s = stub("big");
  const p = plan(10_000);
  expect(new TextEncoder().encode(JSON.stringify(p)).length).toBeGreaterThan(8 * VALUE_LIMIT);
  await s.store("fan_big", p);
  const sizes = await s.sizes();
  expect(sizes.length).toBeGreaterThan(8);
  for (const { key, bytes } of sizes)
    expect({ key, fits: bytes <= VALUE_LIMIT }).toEqual({ key, fits: true });
  expect(await s.take("fan_big")).toEqual(p);
  expect(await s.take("fan_big")).toBeUndefined();
  expect(await s.sizes()).toEqual([]);
});

it("keeps a small plan in one piece, and finds nothing for an id never stored", async () => {
  const s = stub("small");
  await s.store("fan_small", plan(3));
  expect((await s.sizes()).map((x) => x.key).sort()).toEqual(["fanout:fan_small", "fanout:fan_small:0"]);
  expect(await s.take("fan_other")).toBeUndefined();
  expect((await s.take("fan_small"))?.hosts.length).toBe(3);
});

it("runs nothing from a plan that lacks a piece", async () => {
  const s = stub("torn");
  await s.store("fan_torn", plan(2000));
  await s.dropPiece("fanout:fan_torn:1");
  expect(await s.take("fan_torn")).toBeUndefined();
});
