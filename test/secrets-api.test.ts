// The env and keeper routes against the real Worker and libSQL: set (sealed by the SDK), list (never
// values), seal for a new host with a keeper key (resealForHosts), sealedEnvFor (contract 4) opened by
// the host's key, versions that must grow by one, strict shapes, roles, audit, and a hostile tenant
// that gets 404 and nothing of another tenant's.
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEnv } from "../agent/apps/secrets.ts";
import type { TenantId } from "../schema/ids.ts";
import { formatHostKey, generateKeyPair, type HostId, type KeyPair } from "../schema/protocol/index.ts";
import { newKeeperKeyPair } from "../schema/secrets/index.ts";
import { Outpost } from "../sdk/index.ts";
import { envApi, keeperApi, resealForHosts, setEnv } from "../sdk/secrets/index.ts";
import { sealedEnvFor } from "../worker/secrets/sealed-env.ts";
import { insertHost } from "./harness/fixtures.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let a: Awaited<ReturnType<Stack["tenantInProd"]>>;
let b: Awaited<ReturnType<Stack["tenantInProd"]>>;
const keeper = newKeeperKeyPair();
const hostsOf: { id: string; pair: KeyPair }[] = [];

async function addHost(tenant: typeof a, name: string) {
  const pair = await generateKeyPair();
  const cluster = (await tenant.client.clusters.get("prod")).cluster;
  const site = (await tenant.client.sites.get("prod", "fra1")).site;
  const id = await insertHost(stack.dbUrl, {
    tenantId: tenant.id,
    clusterId: cluster.id,
    siteId: site.id,
    name,
    publicKey: formatHostKey(pair.publicKey),
  });
  return { id, pair };
}

function db() {
  return drizzle(createClient({ url: stack.dbUrl }));
}

beforeAll(async () => {
  stack = await startStack();
  a = await stack.tenantInProd("env-a");
  b = await stack.tenantInProd("env-b");
  hostsOf.push(await addHost(a, "web01"), await addHost(a, "web02"));
  await keeperApi.add(a.client, "laptop", keeper.publicKey);
});
afterAll(() => stack?.close());

describe("env set, ls, seal, rm", () => {
  it("stores only ciphertext, lists names, versions and recipients, and the host opens its entries", async () => {
    const [web01] = hostsOf as [(typeof hostsOf)[0]];
    const set = await setEnv(a.client, {
      app: "shop",
      vars: { DATABASE_URL: "postgres://s3cret", EMPTY: "" },
      hosts: ["web01.prod"],
    });
    expect(set.items).toEqual([
      { name: "DATABASE_URL", version: 1, recipients: 2 },
      { name: "EMPTY", version: 1, recipients: 2 },
    ]);
    const listed = await envApi.list(a.client, "shop");
    expect(listed.items.map((i) => [i.name, i.version, i.createdBy.startsWith("key:")])).toEqual([
      ["DATABASE_URL", 1, true],
      ["EMPTY", 1, true],
    ]);
    expect(listed.items[0]!.recipients.map((r) => [r.kind, r.name]).sort()).toEqual([
      ["host", "web01"],
      ["keeper", "laptop"],
    ]);
    expect(JSON.stringify(listed)).not.toMatch(/ciphertext|s3cret/);

    const entries = await sealedEnvFor(db(), {
      tenantId: a.id as TenantId,
      app: "shop",
      hostId: web01.id as HostId,
    });
    if (!Array.isArray(entries)) throw new Error(`missing ${entries.missing}`);
    expect(openEnv({ seed: web01.pair.seed }, entries, { tenantId: a.id, app: "shop" })).toEqual({
      DATABASE_URL: "postgres://s3cret",
      EMPTY: "",
    });
    // Opened as another app's env, it fails naming the variable.
    expect(() => openEnv({ seed: web01.pair.seed }, entries, { tenantId: a.id, app: "billing" })).toThrow(
      /Cannot open env DATABASE_URL/,
    );
  });

  it("a host that is not a recipient gets { missing }, until a keeper re-seals for it", async () => {
    const web02 = hostsOf[1]!;
    const q = { tenantId: a.id as TenantId, app: "shop", hostId: web02.id as HostId };
    expect(await sealedEnvFor(db(), q)).toEqual({ missing: ["DATABASE_URL", "EMPTY"] });
    const resealed = await resealForHosts(a.client, {
      app: "shop",
      hostIds: ["web02.prod"],
      keeper: keeper.secretKey,
    });
    expect(resealed).toEqual({ names: ["DATABASE_URL", "EMPTY"], hosts: ["web02.prod"] });
    const entries = await sealedEnvFor(db(), q);
    if (!Array.isArray(entries)) throw new Error(`missing ${entries.missing}`);
    expect(openEnv({ seed: web02.pair.seed }, entries, { tenantId: a.id, app: "shop" }).DATABASE_URL).toBe(
      "postgres://s3cret",
    );
    // A keeper key the tenant never registered holds no seal: refused, naming the variable.
    await expect(
      resealForHosts(a.client, {
        app: "shop",
        hostIds: ["web02.prod"],
        keeper: newKeeperKeyPair().secretKey,
      }),
    ).rejects.toThrow(/Cannot re-seal env DATABASE_URL of shop: it is not sealed to this keeper/);
  });

  it("a new value is the next version, re-sealed to its recipients only; a stale version is a 409", async () => {
    const set = await setEnv(a.client, {
      app: "shop",
      vars: { DATABASE_URL: "postgres://n3w" },
      hosts: ["web01.prod"],
    });
    expect(set.items).toEqual([{ name: "DATABASE_URL", version: 2, recipients: 2 }]);
    const web02 = hostsOf[1]!;
    expect(
      await sealedEnvFor(db(), { tenantId: a.id as TenantId, app: "shop", hostId: web02.id as HostId }),
    ).toEqual({
      missing: ["DATABASE_URL"],
    });
    const sealed = await envApi.sealed(a.client, "shop", keeper.publicKey);
    const item = sealed.items.find((i) => i.name === "DATABASE_URL")!;
    const stale = {
      entries: [
        {
          name: "DATABASE_URL",
          version: 2,
          ciphertext: item.ciphertext,
          nonce: item.nonce,
          seals: [{ recipient: keeper.publicKey, sealedKey: item.sealedKey! }],
        },
      ],
    };
    const res = await raw(stack, "PUT", "/v1/apps/shop/env", { token: a.token, body: stale });
    expect(res.status).toBe(409);
    expect(res.body.error?.message).toMatch(/env DATABASE_URL of shop is at version 2; set version 3/);
  });

  it("refuses malformed input with a 400 naming the field, and stores nothing", async () => {
    const sealed = await envApi.sealed(a.client, "shop", keeper.publicKey);
    const item = sealed.items.find((i) => i.name === "EMPTY")!;
    const entry = {
      name: "NEW",
      version: 1,
      ciphertext: item.ciphertext,
      nonce: item.nonce,
      seals: [{ recipient: keeper.publicKey, sealedKey: item.sealedKey! }],
    };
    const cases: [object, RegExp][] = [
      [{ entries: [{ ...entry, name: "BAD-NAME" }] }, /entries\.0\.name: must be an env name/],
      [{ entries: [{ ...entry, name: "PORT" }] }, /entries\.0\.name: must be an env name/],
      [{ entries: [{ ...entry, nonce: "AAAA" }] }, /entries\.0\.nonce/],
      [
        { entries: [{ ...entry, seals: [{ recipient: "root", sealedKey: item.sealedKey }] }] },
        /recipient: must be "host_…" or "keeperkey:…"/,
      ],
      [{ entries: [{ ...entry, seals: [] }] }, /entries\.0\.seals/],
      [{ entries: [entry, entry] }, /a name appears twice/],
      [{ entries: [{ ...entry, version: 0 }] }, /entries\.0\.version/],
      [{ entries: [{ ...entry, ciphertext: "A".repeat(30_000) }] }, /entries\.0\.ciphertext/],
      [{ entries: [{ ...entry, extra: 1 }] }, /entries\.0: has unknown field extra/],
      [{ entries: [entry], more: 2 }, /has unknown field more/],
    ];
    for (const [body, message] of cases) {
      const res = await raw(stack, "PUT", "/v1/apps/shop/env", { token: a.token, body });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error?.message).toMatch(message);
    }
    expect(
      (await raw(stack, "PUT", "/v1/apps/Not_An_App/env", { token: a.token, body: { entries: [entry] } }))
        .status,
    ).toBe(400);
    expect(
      (await raw(stack, "PUT", "/v1/apps/shop/env", { token: a.token, body: "x".repeat(70_000) })).status,
    ).toBe(413);
    expect((await envApi.list(a.client, "shop")).items.map((i) => i.name)).toEqual(["DATABASE_URL", "EMPTY"]);
  });

  it("viewers list but may not set, seal, read ciphertext, remove or manage keepers", async () => {
    const viewer = new Outpost({
      url: stack.url,
      token: (await a.client.keys.create({ role: "viewer" })).token,
    });
    expect((await envApi.list(viewer, "shop")).items).toHaveLength(2);
    await expect(setEnv(viewer, { app: "shop", vars: { X: "1" }, hosts: [] })).rejects.toThrow(
      /needs the operator role/,
    );
    await expect(envApi.sealed(viewer, "shop", keeper.publicKey)).rejects.toThrow(/needs the operator role/);
    await expect(envApi.remove(viewer, "shop", "EMPTY")).rejects.toThrow(/needs the operator role/);
    await expect(keeperApi.add(viewer, "mine", newKeeperKeyPair().publicKey)).rejects.toThrow(
      /needs the admin role/,
    );
    const operator = new Outpost({
      url: stack.url,
      token: (await a.client.keys.create({ role: "operator" })).token,
    });
    await expect(keeperApi.add(operator, "mine", newKeeperKeyPair().publicKey)).rejects.toThrow(
      /needs the admin role/,
    );
    expect((await keeperApi.list(viewer)).items.map((k) => k.name)).toEqual(["laptop"]);
  });

  it("another tenant gets 404 or an empty list, never A's env, hosts or keepers", async () => {
    const web01 = hostsOf[0]!;
    const sealed = await envApi.sealed(a.client, "shop", keeper.publicKey);
    const item = sealed.items[0]!;
    const entry = { name: "STOLEN", version: 1, ciphertext: item.ciphertext, nonce: item.nonce };
    expect((await envApi.list(b.client, "shop")).items).toEqual([]);
    expect((await envApi.sealed(b.client, "shop", keeper.publicKey)).items).toEqual([]);
    expect((await envApi.sealed(b.client, "shop", web01.id)).items).toEqual([]);
    const routes: [string, string, object?][] = [
      ["DELETE", "/v1/apps/shop/env/DATABASE_URL"],
      [
        "PUT",
        "/v1/apps/shop/env",
        { entries: [{ ...entry, seals: [{ recipient: web01.id, sealedKey: item.sealedKey }] }] },
      ],
      [
        "PUT",
        "/v1/apps/shop/env",
        { entries: [{ ...entry, seals: [{ recipient: keeper.publicKey, sealedKey: item.sealedKey }] }] },
      ],
      [
        "POST",
        "/v1/apps/shop/env/seals",
        { seals: [{ name: "DATABASE_URL", version: 2, recipient: web01.id, sealedKey: item.sealedKey }] },
      ],
      ["DELETE", "/v1/keepers/laptop"],
    ];
    for (const [method, path, body] of routes) {
      const res = await raw(stack, method, path, { token: b.token, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(404);
    }
    expect((await keeperApi.list(b.client)).items).toEqual([]);
    expect((await envApi.list(a.client, "shop")).items.map((i) => [i.name, i.version])).toEqual([
      ["DATABASE_URL", 2],
      ["EMPTY", 1],
    ]);
  });

  it("rm removes a variable and its seals; removing a keeper drops its seals; all of it audited", async () => {
    expect(await envApi.remove(a.client, "shop", "EMPTY")).toEqual({
      removed: { name: "EMPTY", version: 1 },
    });
    await expect(envApi.remove(a.client, "shop", "EMPTY")).rejects.toThrow(/env EMPTY of shop not found/);
    await keeperApi.remove(a.client, "laptop");
    const listed = await envApi.list(a.client, "shop");
    expect(listed.items.map((i) => [i.name, i.recipients.map((r) => r.kind)])).toEqual([
      ["DATABASE_URL", ["host"]],
    ]);
    const events = (await a.client.audit({ limit: 100 })).events.map((e) => `${e.action}:${e.outcome}`);
    for (const want of [
      "keeper.add:allowed",
      "env.set:allowed",
      "env.seal:allowed",
      "env.set:denied",
      "env.remove:allowed",
      "keeper.remove:allowed",
    ])
      expect(events, want).toContain(want);
  });
});
