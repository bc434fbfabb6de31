// HTTP exposure end to end: the CLI creates exposures; requests from fetch, curl and the `ws` client
// go to the real Worker in workerd, through the HostDO and a real Bun agent, to a real HTTP and
// WebSocket server on loopback. Covers access (API key, signed links, public), identity headers,
// streaming bodies both ways, WebSocket upgrades, hostnames, and clear failures.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { Outpost } from "../sdk/index.ts";
import { startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { exposureAddress, exposureFetch } from "./harness/exposure.ts";
import { insertHost } from "./harness/fixtures.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

const run = promisify(execFile);
let stack: Stack;
let client: Outpost;
let token: string;
let env: Record<string, string>;
let agent: TestAgent;
let upstream: Server;
let upstreamPort: number;
/** A TCP service that does not speak HTTP: it answers every connection with a line and closes. */
let junk: TcpServer;
/** Resolves the /slow endpoint's second half. */
let release: () => void = () => {};

type ApiErr = { error: { code: string; message: string } };
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** What the upstream saw of a request, echoed back as JSON. */
function echo(req: IncomingMessage, body: { size: number; sha256: string }) {
  return JSON.stringify({ method: req.method, url: req.url, headers: req.headers, ...body });
}

function startUpstream(): Promise<void> {
  upstream = createServer((req, res) => {
    if (req.url === "/slow") {
      // Server-sent events: the edge passes them through uncompressed, as they are written.
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("first|");
      release = () => res.end("second");
      return;
    }
    if (req.url === "/big") {
      const big = Buffer.alloc(20 * 1024 * 1024, 7);
      res.writeHead(200, { "content-length": big.length, "x-sha256": sha256(big) });
      res.end(big);
      return;
    }
    if (req.url === "/empty") {
      res.writeHead(204, { "x-kind": "empty" });
      res.end();
      return;
    }
    if (req.url === "/cookies") {
      res.setHeader("set-cookie", ["a=1; Path=/", "b=2; Path=/"]);
      res.end("ok");
      return;
    }
    const hash = createHash("sha256");
    let size = 0;
    req.on("data", (d: Buffer) => {
      hash.update(d);
      size += d.length;
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", connection: "x-hop", "x-hop": "dropped" });
      res.end(echo(req, { size, sha256: hash.digest("hex") }));
    });
  });
  const wss = new WebSocketServer({
    server: upstream,
    path: "/ws",
    handleProtocols: (p) => [...p][0] ?? false,
  });
  wss.on("connection", (ws, req) => {
    ws.send(JSON.stringify({ headers: req.headers, url: req.url }));
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text === "close-please") ws.close(4321, "as asked");
      else ws.send(data, { binary: isBinary });
    });
  });
  return new Promise((resolve) =>
    upstream.listen(0, "127.0.0.1", () => {
      upstreamPort = (upstream.address() as { port: number }).port;
      resolve();
    }),
  );
}

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenant("expose");
  client = t.client;
  token = t.token;
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token, XDG_CONFIG_HOME: stack.dir };
  await client.clusters.create("prod");
  await client.sites.create("prod", "fra1");
  await startUpstream();
  junk = createTcpServer((socket) => {
    socket.on("error", () => {}); // the relay may reset after reading the line
    socket.end("SSH-2.0-not-http\r\n");
  });
  await new Promise<void>((resolve) => junk.listen(0, "127.0.0.1", resolve));
  agent = await startAgent(client, {
    runtime: "bun",
    name: "web01",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
    runArgs: [
      "--service",
      `web=127.0.0.1:${upstreamPort}`,
      "--service",
      `junk=127.0.0.1:${(junk.address() as { port: number }).port}`,
    ],
  });
  await client.exposures.create("web01.prod", "web", "shop");
  await stack.admin.tenantDomains.add("expose", "shop.test");
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  upstream?.closeAllConnections();
  upstream?.close();
  junk?.close();
  await stack?.close();
});

/** A host of prod/fra1 whose agent never connected: `<name>.prod`. */
async function insertOfflineHost(name: string): Promise<void> {
  const [cluster] = (await client.clusters.list()).clusters;
  const [site] = (await client.sites.list("prod")).sites;
  await insertHost(stack.dbUrl, {
    tenantId: cluster!.tenantId,
    clusterId: cluster!.id,
    siteId: site!.id,
    name,
    status: "offline",
  });
}

/** An exposure's URL on its own origin: `http://<name>.localhost:<port>/<path>`. */
const at = (name: string, path = "") => `${exposureAddress(stack, name).url}${path}`;
const shop = (path = "") => at("shop", path);
const withKey = (headers: Record<string, string> = {}) => ({ ...headers, authorization: `Bearer ${token}` });

describe("outpost expose (CLI)", () => {
  it("exposes a service, prints its URL and a link, lists and removes it", async () => {
    const made = await runCli(
      ["expose", "web01.prod:web", "--name", "cli-shop", "--link", "--ttl", "1h"],
      env,
    );
    expect(made.stderr).toBe("");
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(at("cli-shop"));
    const link = /(http:\S+outpost_link=\S+)/.exec(made.stdout)?.[1];
    expect(link).toBeDefined();
    const res = await exposureFetch(`${link!.replace("/?", "/hello?")}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(await res.text()).url).toBe("/hello");

    const ls = await runCli(["expose", "ls"], env);
    expect(ls.stdout).toMatch(/cli-shop\s+web01\.prod\s+web\s+key/);
    const again = await runCli(["expose", "web01.prod:web", "--name", "cli-shop"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/name 'cli-shop' is taken/);
    expect((await runCli(["expose", "rm", "cli-shop"], env)).code).toBe(0);
    expect((await exposureFetch(at("cli-shop"), { headers: withKey() })).status).toBe(404);
  });

  it("refuses bad usage and bad fields with their reasons", async () => {
    const noName = await runCli(["expose", "web01.prod:web"], env);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(/--name is required/);
    const badName = await runCli(["expose", "web01.prod:web", "--name", "Bad_Name"], env);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/name: must be a DNS label/);
    const badTtl = await runCli(["expose", "link", "shop", "--ttl", "90d"], env);
    expect(badTtl.code).toBe(1);
    expect(badTtl.stderr).toMatch(/ttl: must be a duration .* between 1m and 30d/);
  });
});

describe("access", () => {
  it("asks callers without a credential for a key or a link", async () => {
    const res = await exposureFetch(shop());
    expect(res.status).toBe(401);
    expect(((await res.json()) as ApiErr).error.message).toMatch(
      /needs an API key of its tenant .* or a signed link/,
    );
  });

  it("refuses unknown keys, and keys of another tenant", async () => {
    expect(
      (await exposureFetch(shop(), { headers: { authorization: "Bearer opk_aaaaaaaaaaaa_bbbb" } })).status,
    ).toBe(401);
    const other = await stack.tenant("expose-other");
    const res = await exposureFetch(shop(), { headers: { authorization: `Bearer ${other.token}` } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as ApiErr).error.message).toMatch(/not valid for exposure 'shop'/);
    // …and the other tenant can't see, link or remove it.
    expect(
      (await raw(stack, "POST", "/v1/exposures/shop/links", { token: other.token, body: { ttl: "1h" } }))
        .status,
    ).toBe(404);
    expect((await raw(stack, "DELETE", "/v1/exposures/shop", { token: other.token })).status).toBe(404);
    expect((await other.client.exposures.list()).exposures).toEqual([]);
  });

  it("passes the caller's identity, never the caller's own identity headers or API key", async () => {
    const res = await exposureFetch(shop("who?x=1"), {
      headers: withKey({
        "x-outpost-caller": "public",
        "x-outpost-tenant": "ten_forged",
        "X-Outpost-Key-Id": "key_forged",
        "x-forwarded-for": "203.0.113.9",
        "x-app": "kept",
      }),
    });
    expect(res.status).toBe(200);
    const seen = JSON.parse(await res.text());
    const me = (await client.keys.list()).keys[0]!;
    expect(seen.url).toBe("/who?x=1");
    expect(seen.headers["x-outpost-caller"]).toBe(`key:${me.id}`);
    expect(seen.headers["x-outpost-key-id"]).toBe(me.id);
    expect(seen.headers["x-outpost-tenant"]).toBe(me.tenantId);
    expect(seen.headers["x-outpost-role"]).toBe("admin");
    // X-Forwarded-For is the edge's view of the client, never what the caller claimed.
    expect(seen.headers["x-forwarded-for"] ?? "").not.toContain("203.0.113.9");
    expect(seen.headers["x-forwarded-prefix"]).toBeUndefined();
    expect(seen.headers["x-forwarded-host"]).toBe(exposureAddress(stack, "shop").hostHeader);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-app"]).toBe("kept");
    // Hop-by-hop headers of the response (named by its Connection header) stay on the host's side.
    expect(res.headers.get("x-hop")).toBeNull();
    expect(res.headers.get("content-type")).toBe("application/json");
  });

  it("opens with a signed link, keeps the browser in with a cookie, and stops when links are revoked", async () => {
    const { url, expiresAt } = await client.exposures.link("shop", "10m");
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
    const first = await exposureFetch(url.replace("/?", "/page?a=b&"), { headers: { cookie: "app=1" } });
    expect(first.status).toBe(200);
    const seen = JSON.parse(await first.text());
    expect(seen.url).toBe("/page?a=b");
    expect(seen.headers["x-outpost-caller"]).toBe("link");
    expect(seen.headers.cookie).toBe("app=1");
    const cookie = first.headers.get("set-cookie")!;
    // Host-only (no Domain): the exposure's own origin, all of it, and nothing else.
    expect(cookie).toMatch(/^outpost_link=\d+\.[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);

    const next = await exposureFetch(shop("again"), {
      headers: { cookie: `app=2; ${cookie.split(";")[0]}` },
    });
    expect(next.status).toBe(200);
    const seen2 = JSON.parse(await next.text());
    expect(seen2.headers.cookie).toBe("app=2");
    expect(seen2.headers["x-outpost-caller"]).toBe("link");

    // A changed MAC character (not the last: two of its bits are unused).
    const tampered = url.replace(/.(.{5})$/, (_, rest) => (url.at(-6) === "A" ? "B" : "A") + rest);
    const bad = await exposureFetch(tampered);
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as ApiErr).error.message).toMatch(/expired, revoked or not genuine/);

    // A link opens only its own exposure.
    await client.exposures.create("web01.prod", "web", "shop2");
    expect((await exposureFetch(url.replace("//shop.", "//shop2."))).status).toBe(401);

    await client.exposures.revokeLinks("shop");
    expect((await exposureFetch(url)).status).toBe(401);
    expect((await exposureFetch(shop(), { headers: { cookie: cookie.split(";")[0]! } })).status).toBe(401);
  });

  it("ends links at once even when another isolate revoked them (no copy of the row is kept)", async () => {
    await client.exposures.create("web01.prod", "web", "elsewhere");
    const { url } = await client.exposures.link("elsewhere", "10m");
    expect((await exposureFetch(url)).status).toBe(200);
    // What `outpost expose revoke-links` does, written as another isolate (or another Worker
    // instance) would: straight into the database, so nothing in this isolate hears of it.
    const db = createClient({ url: stack.dbUrl });
    try {
      await db.execute({
        sql: "update exposures set link_salt = ? where name = ?",
        args: [randomBytes(10).toString("hex"), "elsewhere"],
      });
    } finally {
      db.close();
    }
    expect((await exposureFetch(url)).status).toBe(401);
  });

  it("serves public exposures to anyone, and only an admin may make one", async () => {
    const ops = await raw(stack, "POST", "/v1/exposures", {
      token: (await client.keys.create({ role: "operator", name: "ops" })).token,
      body: { host: "web01.prod", service: "web", name: "open", public: true },
    });
    expect(ops.status).toBe(403);
    expect(ops.body.error?.message).toMatch(/needs the admin role/);
    const made = await runCli(["expose", "web01.prod:web", "--name", "open", "--public"], env);
    expect(made.code).toBe(0);
    const res = await exposureFetch(at("open", "pub"), { headers: { authorization: "Basic dTpw" } });
    expect(res.status).toBe(200);
    const seen = JSON.parse(await res.text());
    expect(seen.headers["x-outpost-caller"]).toBe("public");
    expect(seen.headers.authorization).toBe("Basic dTpw");
    const audit = (await client.audit()).events.map((e) => `${e.action} ${e.outcome}`);
    expect(audit).toContain("expose.create denied");
    expect(audit).toContain("expose.create allowed");
  });
});

describe("requests and responses", () => {
  it("serves no exposure on the control plane's origin, and says where it is served", async () => {
    for (const path of ["/x/shop/", "/x/shop/who", "/x/shop", "/x/sh%6fp/who"]) {
      const res = await raw(stack, "GET", path, { token });
      expect(res.status, path).toBe(404);
      expect(res.body.text, path).toBeUndefined(); // the API's JSON error, not the service's answer
      expect(res.body.error?.message, path).toContain(`'shop' is served at ${shop()}`);
    }
  });

  it("gives the upstream the request's path exactly as sent, percent-encodings untouched", async () => {
    const path = "/sh%6fp/a%2Fb%20c/%7euser?q=%41%2B&r=a+b";
    const res = await exposureFetch(shop(path.slice(1)), { headers: withKey() });
    expect(res.status).toBe(200);
    expect(JSON.parse(await res.text()).url).toBe(path);
  });

  it("keeps the caller's hop-by-hop headers (named by its Connection header) on the edge", async () => {
    const res = await run("curl", [
      "-sS",
      "-H",
      `authorization: Bearer ${token}`,
      "-H",
      "connection: keep-alive, X-Caller-Hop",
      "-H",
      "x-caller-hop: dropped",
      "-H",
      "x-app: kept",
      shop("hop"),
    ]);
    const seen = JSON.parse(res.stdout);
    expect(seen.headers["x-caller-hop"]).toBeUndefined();
    expect(seen.headers["x-app"]).toBe("kept");
  });

  it("carries methods and streaming request bodies of any size (fetch, chunked)", async () => {
    const payload = randomBytes(5 * 1024 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= payload.length) return c.close();
        c.enqueue(payload.subarray(sent, sent + 100_000));
        sent += 100_000;
      },
    });
    const res = await exposureFetch(shop("upload"), { method: "PUT", body, headers: withKey() });
    expect(res.status).toBe(200);
    const seen = JSON.parse(await res.text());
    expect(seen).toMatchObject({ method: "PUT", size: payload.length, sha256: sha256(payload) });
    expect(seen.headers["transfer-encoding"]).toBe("chunked");
  });

  it("carries a sized upload from curl and a 20 MB download with equal checksums", async () => {
    const file = join(stack.dir, "upload.bin");
    const data = randomBytes(3 * 1024 * 1024);
    writeFileSync(file, data);
    const up = await run("curl", [
      "-sS",
      "-H",
      `authorization: Bearer ${token}`,
      "--data-binary",
      `@${file}`,
      shop("curl"),
    ]);
    expect(JSON.parse(up.stdout)).toMatchObject({ method: "POST", size: data.length, sha256: sha256(data) });

    const res = await exposureFetch(shop("big"), { headers: withKey() });
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(20 * 1024 * 1024);
    expect(sha256(bytes)).toBe(res.headers.get("x-sha256"));
  });

  it("streams the response as the upstream writes it", async () => {
    const res = await exposureFetch(shop("slow"), { headers: withKey() });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first|");
    release();
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe("second");
  });

  it("answers HEAD and 204 without a body, and keeps repeated headers", async () => {
    const head = await exposureFetch(shop("anything"), { method: "HEAD", headers: withKey() });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const empty = await exposureFetch(shop("empty"), { headers: withKey() });
    expect(empty.status).toBe(204);
    expect(empty.headers.get("x-kind")).toBe("empty");
    const cookies = await exposureFetch(shop("cookies"), { headers: withKey() });
    expect(cookies.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
  });

  it("serves many requests at once", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        exposureFetch(shop(`n/${i}`), { headers: withKey() }).then(
          (r) => r.json() as Promise<{ url: string }>,
        ),
      ),
    );
    expect(results.map((r) => r.url)).toEqual(Array.from({ length: 30 }, (_, i) => `/n/${i}`));
  });

  it("serves an exposure at its own hostname, within a domain granted to its tenant", async () => {
    const made = await client.exposures.create("web01.prod", "web", "hosted", { hostname: "App.Shop.Test" });
    expect(made.exposure.hostnameUrl).toBe(`http://app.shop.test:${new URL(stack.url).port}/`);
    // fetch() can't set Host; curl can.
    const res = await run("curl", [
      "-sS",
      "-H",
      "host: app.shop.test",
      "-H",
      `authorization: Bearer ${token}`,
      `${stack.url}/root?q=2`,
    ]);
    const seen = JSON.parse(res.stdout);
    expect(seen.url).toBe("/root?q=2");
    expect(seen.headers["x-forwarded-prefix"]).toBeUndefined();
    const taken = await raw(stack, "POST", "/v1/exposures", {
      token,
      body: { host: "web01.prod", service: "web", name: "hosted2", hostname: "app.shop.test" },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error?.message).toMatch(/hostname 'app.shop.test' is taken/);
  });
});

describe("changes", () => {
  const atHostname = async (hostname: string) =>
    Number(
      (
        await run("curl", [
          "-sS",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "-H",
          `host: ${hostname}`,
          "-H",
          `authorization: Bearer ${token}`,
          `${stack.url}/page`,
        ])
      ).stdout,
    );
  const byName = async (name: string) =>
    (await exposureFetch(at(name, "page"), { headers: withKey() })).status;

  it("stops serving a removed exposure at once, by name and at its hostname", async () => {
    await client.exposures.create("web01.prod", "web", "brief", { hostname: "brief.shop.test" });
    expect(await byName("brief")).toBe(200);
    expect(await atHostname("brief.shop.test")).toBe(200);
    await client.exposures.remove("brief");
    expect(await byName("brief")).toBe(404);
    expect(await atHostname("brief.shop.test")).toBe(404);
  });

  it("serves a new exposure at once, even right after its name was asked for", async () => {
    expect(await byName("later")).toBe(404);
    expect(await atHostname("later.shop.test")).toBe(404);
    await client.exposures.create("web01.prod", "web", "later", { hostname: "later.shop.test" });
    expect(await byName("later")).toBe(200);
    expect(await atHostname("later.shop.test")).toBe(200);
  });

  it("says a host is revoked as soon as it is", async () => {
    await insertOfflineHost("soon-revoked");
    await client.exposures.create("soon-revoked.prod", "web", "soon-revoked");
    const code = async () =>
      ((await (await exposureFetch(at("soon-revoked"), { headers: withKey() })).json()) as ApiErr).error.code;
    expect(await code()).toBe("host_offline");
    await client.hosts.revoke("soon-revoked.prod");
    expect(await code()).toBe("host_revoked");
  });
});

describe("WebSocket upgrades", () => {
  /** ws resolves names itself: connect to loopback, with the exposure's Host. */
  const wsTo = (path: string, protocols?: string[], headers: Record<string, string> = {}) => {
    const address = exposureAddress(stack, "shop");
    return new WebSocket(`ws://${address.host}:${address.port}/${path}`, protocols, {
      headers: { ...headers, host: address.hostHeader },
    });
  };

  async function connect(path: string, headers: Record<string, string>, protocols?: string[]) {
    const ws = wsTo(path, protocols, headers);
    const first = once(ws, "message");
    await once(ws, "open");
    const hello = JSON.parse(String((await first)[0]));
    return { ws, hello };
  }

  it("relays text and binary messages both ways, with identity headers and the subprotocol", async () => {
    const { ws, hello } = await connect("ws?room=1", withKey({ "x-outpost-caller": "forged" }), ["chat.v1"]);
    expect(hello.url).toBe("/ws?room=1");
    expect(hello.headers["x-outpost-caller"]).toMatch(/^key:key_/);
    expect(hello.headers.authorization).toBeUndefined();
    expect(ws.protocol).toBe("chat.v1");

    const text = once(ws, "message");
    ws.send("hello over the edge");
    const [t, isBinary] = await text;
    expect(isBinary).toBe(false);
    expect(String(t)).toBe("hello over the edge");

    const blob = randomBytes(200 * 1024);
    const bin = once(ws, "message");
    ws.send(blob);
    const [b, binary] = await bin;
    expect(binary).toBe(true);
    expect(sha256(b as Buffer)).toBe(sha256(blob));

    const closed = once(ws, "close");
    ws.send("close-please");
    const [code, reason] = await closed;
    expect(code).toBe(4321);
    expect(String(reason)).toBe("as asked");
  });

  it("refuses an upgrade without a credential, and passes on the upstream's refusal", async () => {
    const ws = wsTo("ws");
    const [, res] = await once(ws, "unexpected-response");
    expect(res.statusCode).toBe(401);
    const wrong = wsTo("not-ws", undefined, withKey());
    const [, res2] = await once(wrong, "unexpected-response");
    expect(res2.statusCode).toBe(400);
  });
});

describe("failures", () => {
  it("says why when the host's policy refuses the target", async () => {
    await client.exposures.create("web01.prod", "9", "nope");
    const res = await exposureFetch(at("nope"), { headers: withKey() });
    expect(res.status).toBe(502);
    expect(((await res.json()) as ApiErr).error.message).toMatch(/--allow-loopback|not allowed|refused/i);
  });

  it("says the host is offline when its agent is not connected", async () => {
    await insertOfflineHost("dark");
    await client.exposures.create("dark.prod", "web", "dark");
    const res = await exposureFetch(at("dark"), { headers: withKey() });
    expect(res.status).toBe(502);
    const err = ((await res.json()) as ApiErr).error;
    expect(err.code).toBe("host_offline");
    expect(err.message).toMatch(/dark is offline/);
  });

  it("says so when the service does not speak HTTP", async () => {
    await client.exposures.create("web01.prod", "junk", "junk");
    const res = await exposureFetch(at("junk"), { headers: withKey() });
    expect(res.status).toBe(502);
    const err = ((await res.json()) as ApiErr).error;
    expect(err.code).toBe("bad_upstream_response");
    expect(err.message).toMatch(/not valid HTTP\/1.1/);
  });

  it("answers 404 for an unknown exposure", async () => {
    const res = await exposureFetch(at("nothing-here"), { headers: withKey() });
    expect(res.status).toBe(404);
  });
});
