// Exposures in a real browser (issue 10, item 2): headless Chromium (Debian's, driven by
// playwright-core) against the real Worker in workerd and two tenants' real Bun agents. Tenant A has a
// link-protected exposure whose service answers a secret; the browser opens A's link, so it holds A's
// cookie. Tenant B has a public exposure whose page, served by B's own HTTP server, tries two attacks:
// (a) fetch A's exposure with credentials and read the answer, (b) register a service worker with
// scope "/" (its script sent with `Service-Worker-Allowed: /`) that answers every request "pwned".
// On one origin shared by the API and every exposure (the old /x/<name>/) both succeed; on origins of
// their own both fail, which is what this test asserts.
import { existsSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startAgent, type TestAgent } from "./harness/agent.ts";
import { exposureAddress } from "./harness/exposure.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const SECRET = `secret-${crypto.randomUUID()}`;

/** B's page: both attacks, their outcomes left in `window.result`. A's URL comes in the fragment. */
const ATTACK_PAGE = `<!doctype html><title>tenant B</title><script>
(async () => {
  const out = {};
  try {
    const res = await fetch(decodeURIComponent(location.hash.slice(1)), { credentials: "include" });
    out.read = res.status + " " + (await res.text());
  } catch (err) {
    out.read = "blocked: " + err;
  }
  try {
    await navigator.serviceWorker.register("sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    out.sw = "registered";
  } catch (err) {
    out.sw = "refused: " + err;
  }
  window.result = out;
})();
</script>`;

const SERVICE_WORKER = `
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (e) => e.respondWith(new Response("pwned", { headers: { "content-type": "text/plain" } })));
`;

let stack: Stack;
const agents: TestAgent[] = [];
const servers: Server[] = [];
let browser: BrowserContext;

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

/** A tenant with one host whose agent serves `port` as `web`, exposed as `name`. */
async function tenantExposing(tenant: string, port: number, name: string, opts: { public?: boolean }) {
  const { client } = await stack.tenantInProd(tenant);
  agents.push(
    await startAgent(client, {
      runtime: "bun",
      name: "web01",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
      runArgs: ["--service", `web=127.0.0.1:${port}`],
    }),
  );
  await client.exposures.create("web01.prod", "web", name, opts);
  return client;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium ('apt-get install chromium', as .ci/run does) to run the browser tests`,
    );
  stack = await startStack();
  const secretPort = await serve((_req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(SECRET);
  });
  const attackerPort = await serve((req, res) => {
    if (req.url?.endsWith("/sw.js")) {
      res.setHeader("content-type", "text/javascript");
      res.setHeader("service-worker-allowed", "/");
      res.end(SERVICE_WORKER);
    } else {
      res.setHeader("content-type", "text/html");
      res.end(ATTACK_PAGE);
    }
  });
  const alpha = await tenantExposing("alpha", secretPort, "a-secret", {});
  await tenantExposing("beta", attackerPort, "b-pub", { public: true });
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "outpost-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  // The browser opens A's link: from now on it holds A's cookie.
  const page = await browser.newPage();
  const opened = await page.goto((await alpha.exposures.link("a-secret", "10m")).url);
  expect(await opened?.text()).toBe(SECRET);
  await page.close();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  for (const agent of agents) await agent.stop();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await stack?.close();
});

/** What a page at `url` shows, and what a fetch of `path` from it answers. */
async function visit(url: string, path: string) {
  const page = await browser.newPage();
  try {
    const res = await page.goto(url);
    const shown = (await res?.text()) ?? "";
    const fetched = await page.evaluate((p) => fetch(p).then((r) => r.text()), path);
    const controlled = await page.evaluate(() => navigator.serviceWorker?.controller !== null);
    return { shown, fetched, controlled };
  } finally {
    await page.close();
  }
}

it("keeps one tenant's page from reading another's exposure, and its service worker off every other origin", async () => {
  const a = exposureAddress(stack, "a-secret").url;
  const b = exposureAddress(stack, "b-pub").url;
  const page = await browser.newPage();
  await page.goto(`${b}#${encodeURIComponent(a)}`);
  await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, undefined, {
    timeout: 20_000,
  });
  const result = (await page.evaluate(() => (window as { result?: unknown }).result)) as {
    read: string;
    sw: string;
  };
  await page.close();

  // (a) B's page ran its fetch and could not read A's answer.
  expect(result.read).not.toContain(SECRET);
  expect(result.read).toMatch(/^blocked: TypeError/);
  // (b) The service worker took B's own origin (so the attack did run)…
  expect(result.sw).toBe("registered");
  expect((await visit(`${b}probe`, "/other")).fetched).toBe("pwned");
  // …and nothing else: the API's origin and A's exposure answer for themselves.
  const api = await visit(`${stack.url}/v1/clusters`, "/install.sh");
  expect(api.controlled).toBe(false);
  expect(JSON.parse(api.shown).error.code).toBe("unauthorized");
  expect(api.fetched).toMatch(/^#!\/bin\/sh/);
  const alpha = await visit(a, a);
  expect(alpha).toEqual({ shown: SECRET, fetched: SECRET, controlled: false });
}, 60_000);
