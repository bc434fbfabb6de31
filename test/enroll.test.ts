// Enrollment: single use under a race, proof of possession, and clear refusals that create nothing.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateKeyPair } from "../schema/protocol/index.ts";
import type { Outpost } from "../sdk/index.ts";
import { runAgent } from "./harness/agent.ts";
import { signedEnrollment } from "./harness/enrollment.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;

beforeAll(async () => {
  stack = await startStack();
  client = (await stack.tenant("enroll")).client;
  await client.clusters.create("prod");
  await client.sites.create("prod", "fra1");
});
afterAll(() => stack?.close());

const hostNames = async () => (await client.hosts.list({ cluster: "prod" })).hosts.map((h) => h.name).sort();

it("redeems a token exactly once under 50 parallel redemptions", async () => {
  const { token } = await client.tokens.create({ cluster: "prod", site: "fra1" });
  const bodies = await Promise.all(
    Array.from({ length: 50 }, (_, i) => signedEnrollment(token, `race-${i}`)),
  );
  const results = await Promise.all(bodies.map((body) => raw(stack, "POST", "/v1/enroll", { body })));
  const created = results.filter((r) => r.status === 201);
  expect(created).toHaveLength(1);
  for (const r of results.filter((x) => x.status !== 201)) {
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe("token_used");
  }
  expect((await hostNames()).filter((n) => n.startsWith("race-"))).toHaveLength(1);
  const used = (await client.tokens.list()).tokens.filter((t) => t.state === "used");
  expect(used).toHaveLength(1);
});

it("requires proof of possession and a sane clock", async () => {
  const { token } = await client.tokens.create({ cluster: "prod", site: "fra1" });
  const other = await generateKeyPair();
  const forged = await raw(stack, "POST", "/v1/enroll", {
    body: await signedEnrollment(token, "forged", { signWith: other.seed }),
  });
  expect(forged.status).toBe(400);
  expect(forged.body.error?.code).toBe("bad_signature");
  const stale = await raw(stack, "POST", "/v1/enroll", {
    body: await signedEnrollment(token, "stale", { time: Date.now() - 3_600_000 }),
  });
  expect(stale.body.error?.code).toBe("clock_skew");
  // The token survived both: it was never redeemed.
  expect(
    (await raw(stack, "POST", "/v1/enroll", { body: await signedEnrollment(token, "honest") })).status,
  ).toBe(201);
});

it("keeps the token unused when the name is taken", async () => {
  const first = await client.tokens.create({ cluster: "prod", site: "fra1" });
  expect(
    (await raw(stack, "POST", "/v1/enroll", { body: await signedEnrollment(first.token, "taken") })).status,
  ).toBe(201);
  const second = await client.tokens.create({ cluster: "prod", site: "fra1" });
  const dup = await raw(stack, "POST", "/v1/enroll", { body: await signedEnrollment(second.token, "taken") });
  expect(dup.status).toBe(409);
  expect(dup.body.error?.code).toBe("name_taken");
  expect((await client.tokens.list()).tokens.find((t) => t.id === second.enrollment.id)?.state).toBe(
    "active",
  );
});

it("enrolls with the real agent, storing a 0600 key that never leaves the host", async () => {
  const { token } = await client.tokens.create({ cluster: "prod", site: "fra1", labels: { zone: "a" } });
  const dir = mkdtempSync(join(tmpdir(), "outpost-enroll-"));
  const run = runAgent("bun", [
    "enroll",
    "--url",
    stack.url,
    "--token",
    token,
    "--name",
    "agent01",
    "--labels",
    "role=db",
    "--state-dir",
    dir,
  ]);
  expect(await run.exited, run.output()).toBe(0);
  const keyFile = readdirSync(dir).find((f) => f.endsWith(".key"))!;
  expect(statSync(join(dir, keyFile)).mode & 0o777).toBe(0o600);
  const secret = readFileSync(join(dir, keyFile), "utf8").trim();
  const { host } = await client.hosts.get("agent01.prod");
  expect(host.labels).toEqual({ zone: "a", role: "db" });
  expect(JSON.stringify(host)).not.toContain(secret.replace(/^privkey:/, ""));
  const audit = await client.audit({ limit: 100 });
  expect(JSON.stringify(audit)).not.toContain(secret.replace(/^privkey:/, ""));
});

it("keeps the labels its token pins: the host may add labels, never change a pinned one", async () => {
  const { token, enrollment } = await client.tokens.create({
    cluster: "prod",
    site: "fra1",
    labels: { env: "prod" },
  });
  const enroll = (labels: string) => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-enroll-"));
    return runAgent("deno", [
      ...["enroll", "--url", stack.url, "--token", token, "--name", "pinned"],
      ...["--labels", labels, "--state-dir", dir],
    ]);
  };
  const moved = enroll("env=dev,role=web");
  expect(await moved.exited).toBe(1);
  expect(moved.output()).toMatch(/label 'env' is pinned to 'prod' by this enrollment token/);
  expect(moved.output().trim().split("\n")).toHaveLength(1);
  expect(await hostNames()).not.toContain("pinned");
  expect((await client.tokens.list()).tokens.find((t) => t.id === enrollment.id)?.state).toBe("active");

  const kept = enroll("env=prod,role=web");
  expect(await kept.exited, kept.output()).toBe(0);
  expect((await client.hosts.get("pinned.prod")).host.labels).toEqual({ env: "prod", role: "web" });
});

it("refuses a host whose labels and its token's come to more than 32 together", async () => {
  const pinned = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`t${i}`, "x"]));
  const asked = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`h${i}`, "y"]));
  const { token, enrollment } = await client.tokens.create({ cluster: "prod", site: "fra1", labels: pinned });
  const res = await raw(stack, "POST", "/v1/enroll", {
    body: await signedEnrollment(token, "crowded", { labels: asked }),
  });
  expect(res.status).toBe(400);
  expect(res.body.error?.message).toMatch(/the token's and the host's together: at most 32 labels/);
  expect((await client.tokens.list()).tokens.find((t) => t.id === enrollment.id)?.state).toBe("active");
});

it.each([
  ["expired", "expired"],
  ["revoked", "revoked"],
  ["unknown", "unknown"],
  ["used", "already used"],
] as const)("refuses a %s token with a clear message and writes nothing", async (kind, words) => {
  let token = "oet_000000000000_0000000000000000000000000000000000000000";
  if (kind !== "unknown") {
    const t = await client.tokens.create({ cluster: "prod", site: "fra1" });
    token = t.token;
    if (kind === "revoked") await client.tokens.revoke(t.enrollment.id);
    if (kind === "used")
      await raw(stack, "POST", "/v1/enroll", { body: await signedEnrollment(token, `user-${Date.now()}`) });
    if (kind === "expired") {
      const { createClient } = await import("@libsql/client");
      const db = createClient({ url: stack.dbUrl });
      await db.execute({
        sql: "update enrollment_tokens set expires_at = ? where id = ?",
        args: [Date.now() - 1, t.enrollment.id],
      });
      db.close();
    }
  }
  const before = await hostNames();
  const dir = mkdtempSync(join(tmpdir(), "outpost-enroll-"));
  const run = runAgent("deno", [
    "enroll",
    "--url",
    stack.url,
    "--token",
    token,
    "--name",
    `bad-${kind}`,
    "--state-dir",
    dir,
  ]);
  expect(await run.exited).toBe(1);
  expect(run.output()).toMatch(new RegExp(words));
  expect(run.output().trim().split("\n")).toHaveLength(1);
  expect(await hostNames()).toEqual(before);
  expect(existsSync(join(dir, "state.json"))).toBe(false);
});
