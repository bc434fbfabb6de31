// Labels and selectors end to end: `outpost hosts label` sets and removes them, `-l` / `?selector=` /
// the SDK choose hosts by them, bad selectors and labels are 400s naming what is wrong, viewers and
// other tenants are refused, and every change is audited.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutpostApiError } from "../sdk/index.ts";
import { runCli } from "./harness/cli.ts";
import { insertHost } from "./harness/fixtures.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let a: Awaited<ReturnType<Stack["tenantInProd"]>>;
let env: Record<string, string>;

beforeAll(async () => {
  stack = await startStack();
  a = await stack.tenantInProd("labels-a");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: a.token, XDG_CONFIG_HOME: stack.dir };
  const cluster = (await a.client.clusters.get("prod")).cluster;
  const site = (await a.client.sites.get("prod", "fra1")).site;
  const base = { tenantId: a.id, clusterId: cluster.id, siteId: site.id };
  await insertHost(stack.dbUrl, { ...base, name: "web01", labels: { role: "web", zone: "a" } });
  await insertHost(stack.dbUrl, { ...base, name: "web02", labels: { role: "web", zone: "b" } });
  await insertHost(stack.dbUrl, { ...base, name: "db01", labels: { role: "db", zone: "a" } });
}, 120_000);
afterAll(() => stack?.close());

const names = (res: { hosts: { fqdn: string }[] }) => res.hosts.map((h) => h.fqdn).sort();

describe("selectors", () => {
  it("choose hosts on the API and in the SDK", async () => {
    expect(names(await a.client.hosts.list({ selector: "role=web" }))).toEqual(["web01.prod", "web02.prod"]);
    expect(names(await a.client.hosts.list({ selector: "role!=web" }))).toEqual(["db01.prod"]);
    expect(names(await a.client.hosts.list({ selector: "zone in (b, c)" }))).toEqual(["web02.prod"]);
    expect(names(await a.client.hosts.list({ selector: "role=web,zone=a" }))).toEqual(["web01.prod"]);
    expect(names(await a.client.hosts.list({ selector: "!zone" }))).toEqual([]);
  });

  it("choose hosts on the CLI, repeated -l all holding", async () => {
    const res = await runCli(["hosts", "-l", "role=web", "-l", "zone notin (b)", "--json"], env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const listed = JSON.parse(res.stdout) as unknown;
    const rows = (Array.isArray(listed) ? listed : (listed as { items: unknown[] }).items) as {
      fqdn: string;
    }[];
    expect(rows.map((h) => h.fqdn)).toEqual(["web01.prod"]);
  });

  it("that do not parse answer 400 naming the position, on the API and the CLI", async () => {
    const res = await raw(stack, "GET", `/v1/hosts?selector=${encodeURIComponent("role in (web")}`, {
      token: a.token,
    });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe("bad_selector");
    expect(res.body.error?.message).toMatch(/selector: .*position 13.*',' or '\)'/);
    const cli = await runCli(["hosts", "-l", "role ~ web"], env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/position 6/);
  });
});

describe("outpost hosts label", () => {
  it("sets and removes labels, audited, and selectors see them", async () => {
    const set = await runCli(["hosts", "label", "db01.prod", "tier=gold", "zone=c"], env);
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(set.stdout).toBe("db01.prod: role=db,zone=c,tier=gold\n");
    const rm = await runCli(["hosts", "label", "db01.prod", "--rm", "tier", "--json"], env);
    expect(rm.code).toBe(0);
    expect(JSON.parse(rm.stdout).labels).toEqual({ role: "db", zone: "c" });
    expect(names(await a.client.hosts.list({ selector: "zone=c" }))).toEqual(["db01.prod"]);
    const { events } = await a.client.audit({ limit: 5 });
    const labelled = events.filter((e) => e.action === "host.label");
    expect(labelled[0]?.details).toEqual({ name: "db01", set: {}, remove: ["tier"] });
    expect(labelled[1]?.details).toEqual({ name: "db01", set: { tier: "gold", zone: "c" }, remove: [] });
  });

  it("refuses bad keys and values, and a usage error exits 2", async () => {
    const bad = await runCli(["hosts", "label", "db01.prod", "Bad Key=x"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/set\.Bad Key: is not valid here/);
    const value = await runCli(["hosts", "label", "db01.prod", "k=\u001b[31m"], env);
    expect(value.code).toBe(1);
    expect(value.stderr).not.toContain("\u001b");
    await expect(a.client.hosts.label("db01.prod", { set: { a: "b" }, remove: ["a"] })).rejects.toThrow(
      /both set and removed/,
    );
    await expect(
      a.client.hosts.label("db01.prod", {
        set: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, "v"])),
      }),
    ).rejects.toThrow(/at most 32 labels/);
    expect((await a.client.hosts.get("db01.prod")).host.labels).toEqual({ role: "db", zone: "c" });
    const usage = await runCli(["hosts", "label", "db01.prod"], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/nothing to change/);
  });

  it("is refused to viewers (403, audited) and to other tenants (404)", async () => {
    const viewer = await a.client.keys.create({ role: "viewer" });
    const res = await raw(stack, "POST", "/v1/hosts/web01.prod/labels", {
      token: viewer.token,
      body: { set: { role: "db" } },
    });
    expect(res.status).toBe(403);
    const b = await stack.tenantInProd("labels-b");
    const web01 = (await a.client.hosts.get("web01.prod")).host;
    for (const ref of [web01.id, "web01.prod"]) {
      const err = await b.client.hosts.label(ref, { set: { role: "db" } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutpostApiError);
      expect((err as OutpostApiError).status).toBe(404);
    }
    expect(names(await b.client.hosts.list({ selector: "role=web" }))).toEqual([]);
    expect((await a.client.hosts.get("web01.prod")).host.labels).toEqual({ role: "web", zone: "a" });
  });
});
