// What people (not programs) see (issue 12, item 11): a browser opening an exposure without
// credentials gets an HTML page saying a key or a share link is needed (401, no-store, a CSP that
// allows no script), while API clients keep the JSON error; a 502 for a service the host does not
// have tells a link visitor nothing about the host's services, and the tenant's key holders the
// detail; `GET /` on the control plane answers JSON for programs and a small page for browsers.
// Real workerd, a real Bun agent, a real HTTP service on loopback, and Debian's Chromium.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type TestAgent } from "./harness/agent.ts";
import { exposureAddress, exposureFetch } from "./harness/exposure.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

let stack: Stack;
let acme: Awaited<ReturnType<Stack["tenantInProd"]>>;
let agent: TestAgent;
let upstream: Server;
let browser: BrowserContext | undefined;

const at = (name: string, path = "") => `${exposureAddress(stack, name).url}${path}`;

beforeAll(async () => {
  stack = await startStack();
  acme = await stack.tenantInProd("acme");
  upstream = createServer((_req, res) => res.end("hello from web"));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const port = (upstream.address() as { port: number }).port;
  agent = await startAgent(acme.client, {
    runtime: "bun",
    name: "web01",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
    // A second service whose name must not reach visitors.
    runArgs: ["--service", `web=127.0.0.1:${port}`, "--service", "internal-billing=127.0.0.1:1"],
  });
  await acme.client.exposures.create("web01.prod", "web", "shop");
  await acme.client.exposures.create("web01.prod", "nosuch", "gone");
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  upstream?.close();
  await stack?.close();
});

describe("an exposure refusing a visitor", () => {
  it("shows a browser a page saying a key or a share link is needed", async () => {
    const res = await exposureFetch(at("shop"), { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/script-src|unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).toContain("A key or a share link is needed");
    expect(html).toContain("outpost expose link shop");
    expect(html).not.toContain("<script");
  });

  it("keeps the JSON error for API clients", async () => {
    for (const accept of [undefined, "*/*", "application/json", "application/json, text/html;q=0.5"]) {
      const res = await exposureFetch(at("shop"), { headers: accept ? { accept } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("unauthorized");
    }
  });

  it("tells a link visitor nothing about the host's services; the tenant's key sees why", async () => {
    const { url } = await acme.client.exposures.link("gone", "10m");
    const visitor = await exposureFetch(url);
    expect(visitor.status).toBe(502);
    const said = await visitor.text();
    expect(said).not.toMatch(/internal-billing|web01|unknown service/);
    expect(JSON.parse(said).error.message).toMatch(/not reachable right now/);

    const owner = await exposureFetch(at("gone"), { headers: { authorization: `Bearer ${acme.token}` } });
    expect(owner.status).toBe(502);
    expect(await owner.text()).toMatch(/unknown service 'nosuch'.*internal-billing/);
  });

  it("renders in Chromium under its own CSP", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium`);
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "outpost-chromium-")), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    const res = await page.goto(at("shop"));
    expect(res?.status()).toBe(401);
    expect(await page.title()).toBe("A key or a share link is needed");
    expect(await page.textContent("body")).toContain("share link");
    // The stylesheet is allowed by its hash: a CSP violation would be logged to the console.
    expect(problems).toEqual([]);
    const margin = await page.evaluate(() => getComputedStyle(document.body).maxWidth);
    expect(margin).not.toBe("none");
  });
});

describe("GET / on the control plane", () => {
  it("answers JSON for programs and the dashboard for browsers", async () => {
    const res = await fetch(`${stack.url}/`);
    expect(res.status).toBe(200);
    const info = (await res.json()) as { name: string; version: string; links: Record<string, string> };
    expect(info).toMatchObject({ name: "outpost", version: VERSION });
    const health = await fetch(new URL(info.links.health!, stack.url));
    expect(health.status).toBe(200);

    // A browser gets the dashboard, which sends one without a session to sign in.
    const page = await fetch(`${stack.url}/`, { headers: { accept: BROWSER_ACCEPT }, redirect: "manual" });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toMatch(/\/signin$/);
  });

  it("leaves an exposure's own / to the exposure", async () => {
    const res = await exposureFetch(at("shop"), { headers: { authorization: `Bearer ${acme.token}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello from web");
  });
});
