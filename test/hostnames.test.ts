// The control plane's hostname belongs to the API, and a custom hostname to a tenant only inside a
// domain the platform admin granted it (issue 10, item 1). The stack's PUBLIC_URL names a hostname,
// outpost.acme.test, as a deployment's does; curl reaches it on loopback with that Host. A real Bun
// agent serves a real HTTP server that records every request it gets, so a test can tell whether
// anything (another tenant's API key above all) reached it.
import { execFile } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exposures, tenantDomains } from "../schema/db/tables.ts";
import { newId, parseId } from "../schema/ids.ts";
import type { Outpost } from "../sdk/index.ts";
import { startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { exposureAddress, exposureFetch } from "./harness/exposure.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const CP_HOST = "outpost.acme.test";
const run = promisify(execFile);

let stack: Stack;
let acme: { id: string; token: string; client: Outpost };
let other: { id: string; token: string; client: Outpost };
let agent: TestAgent;
let upstream: Server;
/** Every request the service received: its path and headers. */
let seen: { url: string; headers: IncomingHttpHeaders }[] = [];
let adminEnv: Record<string, string>;
let acmeEnv: Record<string, string>;

beforeAll(async () => {
  stack = await startStack({ publicHostname: CP_HOST });
  acme = await stack.tenantInProd("acme");
  other = await stack.tenant("other");
  upstream = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    res.setHeader("content-type", "text/plain");
    res.end(`the service answered ${req.url}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  agent = await startAgent(acme.client, {
    runtime: "bun",
    name: "web01",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
    runArgs: ["--service", `web=127.0.0.1:${(upstream.address() as { port: number }).port}`],
  });
  const base = { OUTPOST_URL: stack.url, XDG_CONFIG_HOME: stack.dir };
  adminEnv = { ...base, OUTPOST_ADMIN_TOKEN: stack.adminToken };
  acmeEnv = { ...base, OUTPOST_TOKEN: acme.token };
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  upstream?.closeAllConnections();
  upstream?.close();
  await stack?.close();
});

beforeEach(() => {
  seen = [];
});

/** curl to the control plane's loopback address with `host` as Host; status and body. */
async function at(host: string, path: string, headers: string[] = []) {
  const port = new URL(stack.url).port;
  const args = ["-sS", "-w", "\n%{http_code}", "-H", `host: ${host}:${port}`];
  for (const h of headers) args.push("-H", h);
  const { stdout } = await run("curl", [...args, `http://127.0.0.1:${port}${path}`]);
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** Rows no route would write, straight into the stack's libSQL database, as a hostile insert would. */
async function insertRows(rows: { domain?: string; exposure?: { name: string; hostname: string } }) {
  const client = createClient({ url: stack.dbUrl });
  try {
    const db = drizzle(client);
    if (rows.domain)
      await db.insert(tenantDomains).values({ domain: rows.domain, tenantId: parseId("tenant", acme.id) });
    if (rows.exposure) {
      const [host] = (await acme.client.hosts.list()).hosts;
      await db.insert(exposures).values({
        id: newId("exposure"),
        tenantId: parseId("tenant", acme.id),
        hostId: host!.id,
        service: "web",
        name: rows.exposure.name,
        hostname: rows.exposure.hostname,
        access: "public",
        linkSalt: "AAAAAAAAAAAAAAAA",
        createdBy: "test",
      });
    }
  } finally {
    client.close();
  }
}

const expose = (name: string, hostname: string) =>
  runCli(["expose", "web01.prod:web", "--name", name, "--hostname", hostname], acmeEnv);

describe("the control plane's own hostnames", () => {
  it("are the API's even when rows in the database name them", async () => {
    // What a tenant could not create through the API, written directly: a grant of the parent domain
    // and a public exposure at the control plane's hostname.
    await insertRows({ domain: "acme.test", exposure: { name: "takeover", hostname: CP_HOST } });
    const install = await at(CP_HOST, "/install.sh");
    expect(install.status).toBe(200);
    expect(install.body).toMatch(/^#!\/bin\/sh/);
    expect(install.body).toContain(`http://${CP_HOST}:`);
    const clusters = await at(CP_HOST, "/v1/clusters", [`authorization: Bearer ${other.token}`]);
    expect(clusters.status).toBe(200);
    expect(JSON.parse(clusters.body)).toEqual({ clusters: [] });
    const health = await at(`${CP_HOST.toUpperCase()}.`, "/healthz");
    expect(JSON.parse(health.body)).toMatchObject({ ok: true });
    // The service saw none of it: neither the other tenant's key nor anything else.
    expect(seen).toEqual([]);
  });

  it("cannot be claimed by a tenant's exposure", async () => {
    for (const [hostname, why] of [
      [CP_HOST, `overlaps the control plane's own hostname ${CP_HOST}`],
      [`api.${CP_HOST}`, `overlaps the control plane's own hostname ${CP_HOST}`],
      ["shop.localhost", "overlaps the exposure domain localhost"],
      [
        "app.elsewhere.test",
        "not within a domain granted to this tenant: ask the platform admin for 'outpost tenant domain add",
      ],
    ] as const) {
      const res = await expose("claim", hostname);
      expect(res.code, hostname).toBe(1);
      expect(res.stderr, hostname).toContain(why);
    }
    const audit = (await acme.client.audit()).events.filter((e) => e.action === "expose.create");
    expect(audit.some((e) => e.outcome === "denied" && /granted/.test(String(e.details.reason)))).toBe(true);
  });

  it("cannot be granted to a tenant, nor can a parent or a child of one", async () => {
    for (const [domain, why] of [
      [CP_HOST, "overlaps the control plane's own hostname"],
      ["acme.test", "overlaps the control plane's own hostname"],
      [`x.${CP_HOST}`, "overlaps the control plane's own hostname"],
      ["localhost", "domain: must be a DNS name"],
      ["apps.localhost", "overlaps the exposure domain localhost"],
      ["outpost.acme.workers.dev", "lies under workers.dev"],
      ["127.0.0.1", "domain: must be a DNS name"],
    ] as const) {
      const res = await runCli(["tenant", "domain", "add", "acme", domain], adminEnv);
      expect(res.code, domain).toBe(1);
      expect(res.stderr, domain).toContain(why);
    }
  });
});

describe("granted domains", () => {
  it("let a tenant serve an exposure at a hostname within them, end to end", async () => {
    const granted = await runCli(["tenant", "domain", "add", "acme", "Shop.Test"], adminEnv);
    expect(granted.stderr).toBe("");
    expect(granted.stdout).toBe("domain shop.test granted to tenant acme\n");
    const made = await expose("store", "www.shop.test");
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(exposureAddress(stack, "store").url);
    const res = await at("www.shop.test", "/cart?x=%41", [`authorization: Bearer ${acme.token}`]);
    expect(res).toEqual({ status: 200, body: "the service answered /cart?x=%41" });
    // The exposure's own origin, too.
    expect(
      (
        await exposureFetch(`${exposureAddress(stack, "store").url}a`, {
          headers: { authorization: `Bearer ${acme.token}` },
        })
      ).status,
    ).toBe(200);
    // The tenant's key never reaches the service.
    expect(seen.map((s) => s.headers.authorization)).toEqual([undefined, undefined]);

    const ls = await runCli(["tenant", "domain", "ls", "--json"], adminEnv);
    const rows = JSON.parse(ls.stdout).items as { domain: string; tenant: string; createdAt: string }[];
    expect(rows.find((r) => r.domain === "shop.test")).toMatchObject({ tenant: "acme" });
    expect(rows.every((r) => !Number.isNaN(Date.parse(r.createdAt)) && r.createdAt.endsWith("Z"))).toBe(true);
    expect(
      JSON.parse((await runCli(["tenant", "domain", "ls", "other", "--json"], adminEnv)).stdout),
    ).toEqual({ items: [] });
    expect((await runCli(["tenant", "domain", "ls"], adminEnv)).stdout).toMatch(/shop\.test\s+acme\s+\d{4}-/);
  });

  it("belong to one tenant: another cannot use them, nor be granted a domain that overlaps them", async () => {
    const taken = await other.client.exposures
      .create("web01.prod", "web", "o-store", { hostname: "b.shop.test" })
      .catch((err: Error) => err);
    expect(String(taken)).toContain("'b.shop.test' is not within a domain granted to this tenant");
    const child = await runCli(["tenant", "domain", "add", "other", "deep.shop.test"], adminEnv);
    expect(child.code).toBe(1);
    expect(child.stderr).toContain("'deep.shop.test' overlaps 'shop.test', granted to tenant 'acme'");
    expect((await runCli(["tenant", "domain", "add", "other", "dept.big.test"], adminEnv)).code).toBe(0);
    const parent = await runCli(["tenant", "domain", "add", "acme", "big.test"], adminEnv);
    expect(parent.stderr).toContain("'big.test' overlaps 'dept.big.test', granted to tenant 'other'");
    const twice = await runCli(["tenant", "domain", "add", "other", "shop.test"], adminEnv);
    expect(twice.stderr).toContain("'shop.test' is already granted to tenant 'acme'");
    expect(seen).toEqual([]);
  });

  it("keep other tenants' API keys from the service, public exposure or not", async () => {
    await acme.client.exposures.create("web01.prod", "web", "open", { public: true });
    const open = exposureAddress(stack, "open").url;
    const foreign = await exposureFetch(open, { headers: { authorization: `Bearer ${other.token}` } });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("this API key is not valid for exposure 'open'");
    const anyone = await exposureFetch(open);
    expect(await anyone.text()).toBe("the service answered /");
    const own = await exposureFetch(open, { headers: { authorization: `Bearer ${acme.token}` } });
    expect(own.status).toBe(200);
    expect(seen.map((s) => s.headers.authorization)).toEqual([undefined, undefined]);
  });

  it("are not removed from under exposures unless forced, which takes their hostnames off", async () => {
    const refused = await runCli(["tenant", "domain", "rm", "acme", "shop.test"], adminEnv);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("exposure(s) 'store'");
    expect(refused.stderr).toContain("--force");
    expect((await at("www.shop.test", "/", [`authorization: Bearer ${acme.token}`])).status).toBe(200);
    seen = [];
    const forced = await runCli(["tenant", "domain", "rm", "acme", "shop.test", "--force"], adminEnv);
    expect(forced.stdout).toBe("domain shop.test of tenant acme removed\nno longer served: www.shop.test\n");
    // The hostname is nobody's now: the API answers there, and the service sees nothing.
    const gone = await at("www.shop.test", "/", [`authorization: Bearer ${acme.token}`]);
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body).error.message).toBe("no route for GET /");
    expect(seen).toEqual([]);
    const listed = (await acme.client.exposures.list()).exposures.find((e) => e.name === "store");
    expect(listed?.hostname).toBeNull();
    expect((await runCli(["tenant", "domain", "rm", "acme", "shop.test"], adminEnv)).stderr).toContain(
      "domain 'shop.test' of tenant 'acme' not found",
    );
  });

  it("stop serving a hostname whose grant is gone, whatever the exposure's row says", async () => {
    await runCli(["tenant", "domain", "add", "acme", "gone.test"], adminEnv);
    expect((await expose("fleeting", "a.gone.test")).code).toBe(0);
    expect((await at("a.gone.test", "/", [`authorization: Bearer ${acme.token}`])).status).toBe(200);
    // The grant vanishes behind the API's back (the exposure keeps its hostname): serving checks it.
    const client = createClient({ url: stack.dbUrl });
    await client.execute({ sql: "delete from tenant_domains where domain = ?", args: ["gone.test"] });
    client.close();
    await new Promise((r) => setTimeout(r, 5_100)); // the gateway's per-isolate cache
    seen = [];
    expect((await at("a.gone.test", "/", [`authorization: Bearer ${acme.token}`])).status).toBe(404);
    expect(seen).toEqual([]);
  });

  it("are the platform admin's: usage errors exit 2, a tenant key is refused", async () => {
    expect((await runCli(["tenant", "domain", "add", "acme"], adminEnv)).code).toBe(2);
    expect((await runCli(["tenant", "domain", "nope"], adminEnv)).code).toBe(2);
    const help = await runCli(["tenant", "domain", "add", "--help"], adminEnv);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("outpost tenant domain add <tenant> <domain>");
    const unknown = await runCli(["tenant", "domain", "add", "nobody", "x.test"], adminEnv);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("tenant 'nobody' not found");
    const asTenant = await runCli(["tenant", "domain", "add", "acme", "x.test"], {
      ...adminEnv,
      OUTPOST_ADMIN_TOKEN: acme.token,
    });
    expect(asTenant.code).toBe(1);
    expect(asTenant.stderr).toContain("invalid platform admin token");
  });
});
