// The dashboard in a real browser (issue 16, items 3-5): headless Chromium (Debian's, driven by
// playwright-core) against the real Worker in workerd, a real Bun agent and a hostile raw agent.
// Signs in with an API key, sees the host online, opens a terminal (xterm.js on the pty stream), types
// `echo hello` and sees `hello`, resizes the window and sees `stty size` follow, plays that session
// back; a viewer sees no terminal and is refused on the WebSocket; a cross-site page can neither ride
// the cookie into the terminal's WebSocket nor post to the dashboard; sign-out kills the session
// server-side; a hostname `<img src=x onerror=alert(1)>` renders as text. Screenshots for the README
// are written to docs/screenshots/ when missing or when OUTPOST_SCREENSHOTS=1.
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { encodePtySpec } from "../schema/protocol/pty-spec.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { enrollIdentity, FACTS, RawAgent } from "./harness/raw-agent.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const XSS = "<img src=x onerror=alert(1)>";
const SHOTS = fileURLToPath(new URL("../docs/screenshots/", import.meta.url));

let stack: Stack;
let adminKey: string;
let viewerKey: string;
let otherHost: string;
let agent: TestAgent;
let hostile: RawAgent;
let browser: BrowserContext;
const servers: Server[] = [];

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`);
  if (existsSync(path) && process.env.OUTPOST_SCREENSHOTS !== "1") return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path });
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${stack.url}/`);
  expect(new URL(page.url()).pathname).toBe("/signin");
  await page.fill("input[name=key]", key);
  await Promise.all([page.waitForURL(`${stack.url}/`), page.click("button[type=submit]")]);
}

async function sessionCookie(): Promise<string> {
  const cookie = (await browser.cookies(stack.url)).find((c) => c.name === "outpost_session");
  if (!cookie) throw new Error("no session cookie");
  return `${cookie.name}=${cookie.value}`;
}

/** The terminal's rows as text (xterm.js's DOM renderer), trailing blanks trimmed. */
async function terminalLines(page: Page): Promise<string[]> {
  return page.$$eval(".xterm-rows > div", (rows) => rows.map((r) => (r.textContent ?? "").trimEnd()));
}

async function waitForLine(page: Page, test: (line: string) => boolean, after = 0): Promise<string> {
  return eventually(async () => {
    const hit = (await terminalLines(page)).slice(after).find(test);
    if (!hit) throw new Error(`no such line yet:\n${(await terminalLines(page)).join("\n")}`);
    return hit;
  }, 20_000);
}

/** Opens the pty WebSocket by hand: the HTTP status of a refused upgrade, or "open". */
function tryPty(headers: Record<string, string>, host = "web01.prod"): Promise<number | "open"> {
  const url = `${stack.url.replace(/^http/, "ws")}/v1/hosts/${host}/pty?spec=${encodePtySpec({ cols: 80, rows: 24 })}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("open", () => {
      ws.close();
      resolve("open");
    });
    ws.on("error", reject);
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium ('apt-get install chromium')`);
  stack = await startStack();
  const t = await stack.tenantInProd("dash");
  adminKey = t.token;
  viewerKey = (await t.client.keys.create({ name: "watcher", role: "viewer" })).token;
  agent = await startAgent(t.client, {
    runtime: "bun",
    name: "web01",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
  });
  // A hostile agent: its hello reports a hostname that is markup.
  hostile = await RawAgent.connect(stack.url, await enrollIdentity(stack.url, t.client, "evil"));
  hostile.send(await hostile.seal({ ...hostile.helloFrame(), facts: { ...FACTS, hostname: XSS } } as never));
  expect((await hostile.receive()).t).toBe("ready");
  // Another tenant's host: never visible from this tenant's dashboard.
  const other = await stack.tenantInProd("dash-other");
  otherHost = (await enrollIdentity(stack.url, other.client, "secret01")).name;
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "outpost-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 700 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
    ],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  hostile?.ws.close();
  await agent?.stop();
  for (const s of servers) s.close();
  await stack?.close();
});

describe("dashboard", () => {
  it("serves a strict CSP, and JSON at / to API clients", async () => {
    const res = await fetch(`${stack.url}/signin`);
    const csp = res.headers.get("content-security-policy") ?? "";
    for (const directive of [
      "script-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
      "base-uri 'none'",
    ])
      expect(csp).toContain(directive);
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    const json = await fetch(`${stack.url}/`, { headers: { accept: "application/json" } });
    expect(json.status).toBe(200);
    expect(await json.json()).toMatchObject({ name: "outpost" });
    const wrong = await fetch(`${stack.url}/signin`, {
      method: "POST",
      headers: { origin: stack.url, "content-type": "application/x-www-form-urlencoded" },
      body: "key=opk_nope_nope",
    });
    expect(wrong.status).toBe(401);
  });

  it("signs in, shows the host online, runs a terminal that follows the window, plays it back", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    await page.goto(`${stack.url}/signin`);
    await screenshot(page, "signin");
    await signIn(page, adminKey);
    const cookie = (await browser.cookies(stack.url)).find((c) => c.name === "outpost_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(cookie.value).not.toContain(adminKey);
    expect(await page.content()).not.toContain(adminKey);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain("opk_");

    await eventually(async () => {
      expect(await page.textContent('#hosts tr[data-fqdn="web01.prod"] .status')).toBe("online");
    });
    // The hostile agent's hostname is text: shown literally, no element made of it, no dialog.
    await eventually(async () => {
      const cells = await page.$$eval('#hosts tr[data-fqdn="evil.prod"] td', (tds) =>
        tds.map((td) => td.textContent),
      );
      expect(cells).toContain(XSS);
    });
    expect(await page.$$("#hosts img")).toHaveLength(0);
    await screenshot(page, "hosts");

    // Search and filters: by name, cluster, site and label.
    const listed = async (query: string) => {
      await page.goto(`${stack.url}/?${query}`);
      return page.$$eval("#hosts tbody tr", (trs) => trs.map((tr) => tr.getAttribute("data-fqdn")).sort());
    };
    expect(await listed("q=web")).toEqual(["web01.prod"]);
    expect(await listed("cluster=prod&site=fra1")).toEqual(["evil.prod", "web01.prod"]);
    expect(await listed("cluster=nope")).toEqual([]);
    expect(await listed("label=role%3Dnone")).toEqual([]);
    await page.goto(`${stack.url}/`);

    await page.click('a[href="/hosts/evil.prod"]');
    expect(await page.$$eval("#facts td", (tds) => tds.map((td) => td.textContent))).toContain(XSS);
    expect(await page.$$("main img")).toHaveLength(0);

    await page.goto(`${stack.url}/hosts/web01.prod`);
    await page.click("#open-terminal");
    await eventually(async () => expect(await page.textContent("#terminal-status")).toBe("connected"));
    await page.click("#terminal");
    await page.keyboard.type("echo hello\n");
    await waitForLine(page, (l) => l === "hello");
    await page.keyboard.type("stty size\n");
    const before = await waitForLine(page, (l) => /^\d+ \d+$/.test(l));
    await screenshot(page, "terminal");
    await page.setViewportSize({ width: 700, height: 450 });
    await page.keyboard.type("clear; stty size\n");
    const after = await waitForLine(page, (l) => /^\d+ \d+$/.test(l) && l !== before);
    const [rowsBefore, colsBefore] = before.split(" ").map(Number);
    const [rowsAfter, colsAfter] = after.split(" ").map(Number);
    expect(colsAfter!).toBeLessThan(colsBefore!);
    expect(rowsAfter!).toBeLessThan(rowsBefore!);
    const session = await page.getAttribute("#terminal", "data-session");
    expect(session).toMatch(/^ses_/);
    await page.keyboard.type("exit\n");
    await eventually(async () =>
      expect(await page.textContent("#terminal-status")).toMatch(/^exited with 0/),
    );

    await page.setViewportSize({ width: 1100, height: 700 });
    await page.goto(`${stack.url}/sessions/${session}`);
    // The replay ends with the screen cleared: `hello` is looked for while it plays.
    await waitForLine(page, (l) => l === "hello");
    await eventually(async () => expect(await page.textContent("#playback-status")).toBe("played"), 30_000);
    expect(await terminalLines(page)).toContain(after);
    await screenshot(page, "playback");
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("keeps to the tenant: another tenant's host and unknown sessions are 404", async () => {
    const cookie = await sessionCookie();
    expect((await fetch(`${stack.url}/hosts/${otherHost}.prod`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${stack.url}/sessions/ses_0000000000000000`, { headers: { cookie } })).status).toBe(
      404,
    );
    expect(await tryPty({ cookie, origin: stack.url }, `${otherHost}.prod`)).toBe(404);
  });

  it("refuses the terminal's WebSocket from another origin (cross-site WebSocket hijacking)", async () => {
    const cookie = await sessionCookie();
    expect(await tryPty({ cookie, origin: "http://evil.example" })).toBe(403);
    expect(await tryPty({ cookie })).toBe(403); // no Origin: not a page of ours
    expect(await tryPty({ cookie, origin: stack.url })).toBe("open");
  });

  it("refuses a cross-origin form POST (CSRF) and keeps the session", async () => {
    const cookie = await sessionCookie();
    const page = await browser.newPage();
    // Another origin on the same loopback address (same site, so SameSite alone would not stop it).
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(
        `<form id=f method=post action="${stack.url}/signout"><input name=csrf value=guess></form><script>f.submit()</script>`,
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const evil = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const refused = page.waitForResponse((r) => r.url() === `${stack.url}/signout`);
    await page.goto(evil);
    expect((await refused).status()).toBe(403);
    await page.close();
    const forged = await fetch(`${stack.url}/signout`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie, origin: stack.url, "content-type": "application/x-www-form-urlencoded" },
      body: "csrf=wrong",
    });
    expect(forged.status).toBe(403);
    expect((await fetch(`${stack.url}/hosts.json`, { headers: { cookie } })).status).toBe(200);
  });

  it("shows a viewer no terminal and refuses its WebSocket", async () => {
    const viewer = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox"],
    });
    try {
      const context = await viewer.newContext();
      const page = await context.newPage();
      await signIn(page, viewerKey);
      await page.goto(`${stack.url}/hosts/web01.prod`);
      expect(await page.$("#open-terminal")).toBeNull();
      expect((await page.goto(`${stack.url}/hosts/web01.prod/terminal`))?.status()).toBe(403);
      const cookie = (await context.cookies(stack.url)).find((c) => c.name === "outpost_session")!;
      expect(await tryPty({ cookie: `${cookie.name}=${cookie.value}`, origin: stack.url })).toBe(403);
      // And from its own page, as a script there would: the upgrade is refused, nothing opens.
      await page.goto(`${stack.url}/`);
      const outcome = await page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const ws = new window.WebSocket(url);
            ws.onopen = () => resolve("open");
            ws.onclose = () => resolve("refused");
          }),
        `${stack.url.replace(/^http/, "ws")}/v1/hosts/web01.prod/pty?spec=${encodePtySpec({ cols: 80, rows: 24 })}`,
      );
      expect(outcome).toBe("refused");
    } finally {
      await viewer.close();
    }
  }, 60_000);

  it("signs out: the session is dead server-side, its cookie replayed gets 401 / a redirect", async () => {
    const cookie = await sessionCookie();
    const page = await browser.newPage();
    await page.goto(`${stack.url}/`);
    await Promise.all([page.waitForURL(`${stack.url}/signin`), page.click("#signout")]);
    await page.close();
    expect((await fetch(`${stack.url}/hosts.json`, { headers: { cookie } })).status).toBe(401);
    const replayed = await fetch(`${stack.url}/`, {
      headers: { cookie, accept: "text/html" },
      redirect: "manual",
    });
    expect(replayed.status).toBe(302);
    expect(replayed.headers.get("location")).toBe("/signin");
    expect(await tryPty({ cookie, origin: stack.url })).toBe(401);
  });
});
