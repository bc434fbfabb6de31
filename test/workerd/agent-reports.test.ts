// The agent's latest report in the HostDO: kept in storage (it outlives the object's memory), numbered
// so a waiter can tell a newer one, and waited for only as long as asked.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

const stub = (name: string) => env.AGENT_REPORTS.get(env.AGENT_REPORTS.idFromName(name));
const report = (name: string) => ({
  services: [{ name, source: "agent" as const, target: "127.0.0.1:22", wins: true, allowed: true }],
  listeners: [],
});

it("keeps the latest report in storage, numbered, across an eviction", async () => {
  const s = stub("keep");
  expect(await s.latest()).toBeUndefined();
  await s.save(report("one"));
  await s.save(report("two"));
  await s.evict();
  const latest = await s.latest();
  expect(latest?.n).toBe(2);
  expect(latest?.report.services[0]?.name).toBe("two");
});

it("waits for a newer report than the one asked after, and no longer than asked", async () => {
  const s = stub("wait");
  await s.save(report("before"));
  await s.saveLater(report("after"), 150);
  const got = await s.latest(1, 3000);
  expect(got?.n).toBe(2);
  expect(got?.report.services[0]?.name).toBe("after");
  const started = Date.now();
  const none = await s.latest(2, 200);
  expect(none?.n).toBe(2); // still the latest: nothing newer came
  expect(Date.now() - started).toBeGreaterThanOrEqual(150);
});
