// The dashboard's other pages in a real browser (issue 16, item 3): headless Chromium (Debian's, driven
// by playwright-core) against the real Worker in workerd, a real Bun agent, a real Deno agent and a
// hostile raw agent. The exposures page (addresses, a Remove button for operators only, refused for
// viewers and for another tenant's exposure), the audit log (actors and targets by name, a playback
// link for operators only), the host page's apps, VMs and jobs sections, and the browser terminal on a
// Deno agent. Every string a tenant (a key's name, a job's argv) or an agent (an app's status message,
// its health output, a job's output) chose is markup-shaped here and must show as text.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outpost, pushVmImage } from "../sdk/index.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { enrollIdentity, FACTS, RawAgent } from "./harness/raw-agent.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const XSS = "<img src=x onerror=alert(1)>";
const SHOP = fileURLToPath(new URL("../examples/shop", import.meta.url));
const SHOTS = fileURLToPath(new URL("../docs/screenshots/", import.meta.url));

let stack: Stack;
let adminKey: string;
let viewerKey: string;
let hostileClient: Outpost;
let env: Record<string, string>;
const agents: TestAgent[] = [];
let hostile: RawAgent;
let hostileVmHost: RawAgent;
let adminClient: Outpost;
let chrome: Browser;
const servers: Server[] = [];

/** A fresh browser context signed in with `key`; page errors and dialogs are collected. */
async function signedIn(key: string) {
  const context: BrowserContext = await chrome.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  await page.goto(`${stack.url}/signin`);
  await page.fill("input[name=key]", key);
  await Promise.all([page.waitForURL(`${stack.url}/`), page.click("button[type=submit]")]);
  const cookie = (await context.cookies(stack.url)).find((c) => c.name === "outpost_session")!;
  const csrf = (await page.getAttribute("nav input[name=csrf]", "value")) ?? "";
  return { context, page, errors, dialogs, cookie: `${cookie.name}=${cookie.value}`, csrf };
}

/** A screenshot for the README, written when missing or when OUTPOST_SCREENSHOTS=1. */
async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`);
  if (existsSync(path) && process.env.OUTPOST_SCREENSHOTS !== "1") return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path, fullPage: true });
}

/** A table's cells as text, row by row. */
function cells(page: Page, selector: string): Promise<string[][]> {
  return page.$$eval(`${selector} tbody tr`, (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
  );
}

/** A form POST as the dashboard's own page would send it (same origin, with a CSRF token). */
function post(path: string, cookie: string, csrf: string) {
  return fetch(`${stack.url}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: {
      cookie,
      origin: stack.url,
      "sec-fetch-site": "same-origin",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: `csrf=${encodeURIComponent(csrf)}`,
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium ('apt-get install chromium')`);
  stack = await startStack();
  const t = await stack.tenantInProd("pages");
  adminKey = t.token;
  adminClient = t.client;
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token };
  viewerKey = (await t.client.keys.create({ name: "watcher", role: "viewer" })).token;
  // A key whose name is markup: whatever it does is listed under that name.
  const hostileKey = await t.client.keys.create({ name: XSS, role: "operator" });
  hostileClient = new Outpost({ url: stack.url, token: hostileKey.token });
  const web = createServer((_req, res) => res.end("web"));
  servers.push(web);
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  const port = (web.address() as { port: number }).port;
  agents.push(
    await startAgent(t.client, {
      runtime: "bun",
      name: "web01",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
      runArgs: ["--service", `web=127.0.0.1:${port}`],
    }),
    await startAgent(t.client, {
      runtime: "deno",
      name: "deno01",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
    }),
  );
  await t.client.exposures.create("web01.prod", "web", "shop-front", {});
  await t.client.exposures.create("web01.prod", "web", "to-remove", {});
  // A hostile agent: it will report markup for the app deployed to it.
  hostile = await RawAgent.connect(stack.url, await enrollIdentity(stack.url, t.client, "evil"));
  await hostile.handshake();
  hostile.keepAlive();
  // A hostile agent whose host offers QEMU: it will report markup for the VM made on it.
  hostileVmHost = await RawAgent.connect(stack.url, await enrollIdentity(stack.url, t.client, "evilvm"));
  hostileVmHost.send(
    await hostileVmHost.seal({
      ...hostileVmHost.helloFrame(),
      facts: {
        ...FACTS,
        cpus: 2,
        memory: 2 ** 30,
        drivers: [{ name: "qemu", available: true, accel: "tcg", version: "7.2.15" }],
      },
    } as never),
  );
  if ((await hostileVmHost.receive()).t !== "ready") throw new Error("evilvm got no ready");
  hostileVmHost.keepAlive();
  // Another tenant, with an exposure of its own on a host of its own.
  const other = await stack.tenantInProd("pages-other");
  const otherHost = await enrollIdentity(stack.url, other.client, "secret01");
  await other.client.exposures.create(`${otherHost.name}.prod`, "8080", "their-secret", {});
  chrome = await chromium.launch({
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
}, 180_000);

afterAll(async () => {
  await chrome?.close();
  hostile?.ws.close();
  hostileVmHost?.ws.close();
  for (const a of agents) await a.stop();
  for (const s of servers) s.close();
  await stack?.close();
});

describe("dashboard pages", () => {
  it("lists the tenant's exposures with their addresses; operators remove, viewers may not, another tenant's is 404", async () => {
    const admin = await signedIn(adminKey);
    await admin.page.goto(`${stack.url}/exposures`);
    const rows = await cells(admin.page, "#exposures");
    expect(rows.map((r) => r.slice(0, 4))).toEqual([
      ["shop-front", "web01.prod", "web", "key"],
      ["to-remove", "web01.prod", "web", "key"],
    ]);
    const port = new URL(stack.url).port;
    expect(rows[0]![5]).toBe(`http://shop-front.localhost:${port}/`);
    expect(JSON.stringify(rows)).not.toContain("their-secret");
    expect(await admin.page.$$("#exposures button.remove")).toHaveLength(2);

    // A viewer sees the list, no Remove button, and its POST is refused (403) with nothing removed.
    const viewer = await signedIn(viewerKey);
    await viewer.page.goto(`${stack.url}/exposures`);
    expect((await cells(viewer.page, "#exposures")).map((r) => r[0])).toEqual(["shop-front", "to-remove"]);
    expect(await viewer.page.$$("#exposures button.remove")).toHaveLength(0);
    expect((await post("/exposures/to-remove/remove", viewer.cookie, viewer.csrf)).status).toBe(403);
    // Another tenant's exposure is as absent as a made-up one, and it stays.
    expect((await post("/exposures/their-secret/remove", admin.cookie, admin.csrf)).status).toBe(404);
    expect((await post("/exposures/no-such/remove", admin.cookie, admin.csrf)).status).toBe(404);
    // Without the CSRF token: refused.
    expect((await post("/exposures/to-remove/remove", admin.cookie, "wrong")).status).toBe(403);
    expect((await hostileClient.exposures.list()).exposures.map((e) => e.name)).toEqual([
      "shop-front",
      "to-remove",
    ]);

    // The operator's button removes it, and the page says so.
    await Promise.all([
      admin.page.waitForURL(`${stack.url}/exposures`),
      admin.page.click('tr[data-exposure="to-remove"] button.remove'),
    ]);
    expect((await cells(admin.page, "#exposures")).map((r) => r[0])).toEqual(["shop-front"]);
    await screenshot(admin.page, "exposures");
    expect((await hostileClient.exposures.list()).exposures.map((e) => e.name)).toEqual(["shop-front"]);
    expect(admin.errors).toEqual([]);
    await admin.context.close();
    await viewer.context.close();
  }, 60_000);

  it("shows the audit log by name, hostile key names and argv as text, playback links for operators only", async () => {
    // The key named `<img …>` runs an exec with markup in its argv, and opens a recorded terminal.
    const ran = await hostileClient.exec("web01.prod", ["echo", XSS]);
    expect(ran.code).toBe(0);
    const recorded = hostileClient.execStream("web01.prod", ["echo", "a recorded exec"], { record: true });
    const [execSession] = await Promise.all([
      recorded.session,
      recorded.stdout.pipeTo(new WritableStream()),
      recorded.stderr.pipeTo(new WritableStream()),
      recorded.stdin.close(),
    ]);
    const pty = hostileClient.ptyStream("web01.prod", { cols: 80, rows: 24, argv: ["true"] });
    const ptySession = await pty.session;
    await pty.output.pipeTo(new WritableStream());
    await pty.exited;

    const admin = await signedIn(adminKey);
    await admin.page.goto(`${stack.url}/audit`);
    const find = async (page: Page, action: string, details = "") =>
      eventually(async () => {
        await page.reload();
        const row = (await cells(page, "#audit")).find(
          (r) => r[2] === action && r[1] === XSS && r[6]!.includes(details),
        );
        if (!row) throw new Error(`no ${action} event by the hostile key yet`);
        return row;
      });
    const exec = await find(admin.page, "host.exec", XSS);
    expect(exec[3]).toBe("web01.prod"); // the target by name, not host_…
    expect(exec[4]).toBe("allowed");
    expect(exec[6]).toContain(XSS);
    const keyCreated = (await cells(admin.page, "#audit")).find((r) => r[2] === "key.create");
    expect(keyCreated?.[3]).toBe(XSS);
    const shell = await find(admin.page, "host.pty");
    expect(shell[5]).toBe(ptySession);
    expect(await admin.page.$$("main img")).toHaveLength(0);
    await screenshot(admin.page, "audit");
    // An operator may watch: the session links to its playback.
    expect(await admin.page.getAttribute(`#audit a[href="/sessions/${ptySession}"]`, "href")).toBe(
      `/sessions/${ptySession}`,
    );
    // A recorded exec links to its playback too, and plays there; an unrecorded one does not link.
    expect(await admin.page.$(`#audit a[href="/sessions/${execSession}"]`)).not.toBeNull();
    expect(await admin.page.$$(`#audit a[href^="/sessions/"]`)).toHaveLength(2);
    await admin.page.goto(`${stack.url}/sessions/${execSession}`);
    await eventually(
      async () => expect(await admin.page.textContent("#playback-status")).toBe("played"),
      20_000,
    );
    expect(
      await admin.page.$$eval(".xterm-rows > div", (rows) =>
        rows.map((r) => (r.textContent ?? "").trimEnd()),
      ),
    ).toContain("a recorded exec");
    // A viewer sees the same events, the session's id as text and no link (the server refuses it too).
    const viewer = await signedIn(viewerKey);
    await viewer.page.goto(`${stack.url}/audit`);
    expect((await find(viewer.page, "host.pty"))[5]).toBe(ptySession);
    expect(await viewer.page.$(`#audit a[href="/sessions/${ptySession}"]`)).toBeNull();
    expect((await viewer.page.goto(`${stack.url}/sessions/${ptySession}`))?.status()).toBe(403);
    expect(admin.dialogs).toEqual([]);
    expect(viewer.dialogs).toEqual([]);
    expect(admin.errors).toEqual([]);
    await admin.context.close();
    await viewer.context.close();
  }, 60_000);

  it("shows a host's apps with what its agent reported, hostile text as text", async () => {
    const deployed = await runCli(["deploy", "shop", SHOP, "--to", "evil.prod", "--no-wait"], env);
    expect(deployed.code, deployed.stderr).toBe(0);
    const pushed = await hostile.receiveFrame("workloads");
    const workload = pushed.workloads.find((w) => w.name === "shop")!;
    await hostile.sendFrame({
      t: "workload.status",
      id: workload.id,
      generation: workload.generation,
      live: 1,
      instances: [{ release: 1, state: "unhealthy", restarts: 3, health: XSS, since: Date.now() }],
      message: `${XSS} failed its health check`,
      actions: [],
    } as never);

    const admin = await signedIn(adminKey);
    const row = await eventually(async () => {
      await admin.page.goto(`${stack.url}/hosts/evil.prod`);
      const [r] = await cells(admin.page, "#apps");
      if (r?.[3] !== "unhealthy") throw new Error(`no report yet: ${JSON.stringify(r)}`);
      return r;
    });
    expect(row.slice(0, 7)).toEqual([
      "shop",
      "running",
      "1",
      "unhealthy",
      "3",
      XSS,
      `${XSS} failed its health check`,
    ]);
    expect(await admin.page.$$("main img")).toHaveLength(0);
    // Another host's page has none of it.
    await admin.page.goto(`${stack.url}/hosts/web01.prod`);
    expect(await cells(admin.page, "#apps")).toEqual([]);
    expect(admin.dialogs).toEqual([]);
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  }, 90_000);

  it("shows a host's VMs with what its agent reported, hostile text as text", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-vm-image-"));
    writeFileSync(join(dir, "vmlinuz"), randomBytes(4096));
    await pushVmImage(adminClient, "tiny", { kernel: join(dir, "vmlinuz"), cmdline: "console=ttyS0" });
    const created = await runCli(
      [
        "vm",
        "create",
        "evilvm.prod",
        "web",
        "--image",
        "tiny",
        "--memory",
        "256M",
        "--port",
        "8080",
        "--no-wait",
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    let workload: { id: string; generation: number } | undefined;
    while (!workload)
      workload = (await hostileVmHost.receiveFrame("workloads")).workloads.find((w) => w.name === "web");
    await hostileVmHost.sendFrame({
      t: "workload.status",
      id: workload.id,
      generation: workload.generation,
      instances: [],
      message: `${XSS} QEMU exited at boot`,
      actions: [],
      vm: {
        state: "failed",
        driver: "qemu",
        ports: [],
        address: "10.213.0.5",
        snapshots: [],
        since: Date.now(),
      },
    } as never);

    const viewer = await signedIn(viewerKey);
    const row = await eventually(async () => {
      await viewer.page.goto(`${stack.url}/hosts/evilvm.prod`);
      const [r] = await cells(viewer.page, "#vms");
      if (r?.[3] !== "failed") throw new Error(`no report yet: ${JSON.stringify(r)}`);
      return r;
    });
    expect(row.slice(0, 9)).toEqual([
      "web",
      "tiny",
      "running",
      "failed",
      "1",
      "256 MiB",
      "web-8080",
      "10.213.0.5",
      `${XSS} QEMU exited at boot`,
    ]);
    expect(await viewer.page.$$("main img")).toHaveLength(0);
    // Another host's page has none of it.
    await viewer.page.goto(`${stack.url}/hosts/web01.prod`);
    expect(await cells(viewer.page, "#vms")).toEqual([]);
    expect(viewer.dialogs).toEqual([]);
    expect(viewer.errors).toEqual([]);
    await viewer.context.close();
  }, 90_000);

  it("shows a host's jobs: steps, state, exit and output, hostile argv and output as text", async () => {
    const { job } = await hostileClient.jobs.run({
      cluster: "prod",
      selector: "",
      steps: [
        ["echo", XSS],
        ["sh", "-c", `echo '${XSS}' >&2; exit 3`],
      ],
    });
    await eventually(async () => {
      const states = (await hostileClient.jobs.get(job.id)).hosts.map((h) => `${h.host} ${h.state}`);
      expect(states).toContain("web01.prod failed");
    }, 30_000);
    const admin = await signedIn(adminKey);
    await admin.page.goto(`${stack.url}/hosts/web01.prod`);
    const [row] = await cells(admin.page, "#jobs");
    expect(row![1]).toBe(XSS); // created by the key of that name
    expect(row![2]).toBe(`echo ${XSS} ; sh -c echo '${XSS}' >&2; exit 3`);
    expect(row![3]).toBe("failed");
    expect(row![4]).toBe("3");
    expect(await admin.page.textContent(`tr[data-job="${job.id}"] pre.stdout`)).toBe(`${XSS}\n`);
    expect(await admin.page.textContent(`tr[data-job="${job.id}"] pre.stderr`)).toBe(`${XSS}\n`);
    expect(await admin.page.$$("main img")).toHaveLength(0);
    // Sessions are named by who ran them; the recorded exec (audit test) links to its playback.
    const sessions = await cells(admin.page, "#sessions");
    expect(sessions.filter((r) => r[3] === "echo a recorded exec").map((r) => r[2])).toEqual([XSS]);
    expect(
      await admin.page.$$eval("#sessions tbody tr", (trs) =>
        trs.map(
          (tr) => `${tr.querySelectorAll("td")[3]?.textContent} ${tr.querySelector("a") ? "linked" : "-"}`,
        ),
      ),
    ).toEqual(expect.arrayContaining(["echo a recorded exec linked", `echo ${XSS} -`, "true linked"]));
    // The hostile agent's host, with its app and this job, for the README.
    await admin.page.goto(`${stack.url}/hosts/evil.prod`);
    expect(await admin.page.$$("main img")).toHaveLength(0);
    await screenshot(admin.page, "host");
    expect(admin.dialogs).toEqual([]);
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  }, 60_000);

  it("runs the browser terminal on a Deno agent: echo, and stty size following the window", async () => {
    const admin = await signedIn(adminKey);
    const { page } = admin;
    const lines = () =>
      page.$$eval(".xterm-rows > div", (rows) => rows.map((r) => (r.textContent ?? "").trimEnd()));
    const waitForLine = (test: (line: string) => boolean) =>
      eventually(async () => {
        const hit = (await lines()).find(test);
        if (!hit) throw new Error(`no such line yet:\n${(await lines()).join("\n")}`);
        return hit;
      }, 20_000);
    // Counts what the terminal's WebSocket sends: keys, resizes, and output credit, which goes back a
    // quarter window at a time, not a frame per echo.
    await page.addInitScript(`(() => {
      const Native = window.WebSocket;
      window.sent = 0;
      window.WebSocket = class extends Native {
        send(data) { window.sent++; return super.send(data); }
      };
    })()`);
    await page.goto(`${stack.url}/hosts/deno01.prod`);
    await page.click("#open-terminal");
    await eventually(async () => expect(await page.textContent("#terminal-status")).toBe("connected"));
    await page.click("#terminal");
    await page.keyboard.type("echo hello-from-deno\n");
    await waitForLine((l) => l === "hello-from-deno");
    // Idle, the terminal runs no animation (a blinking cursor is an endless CSS one, which keeps the
    // browser drawing every frame and held each keystroke's echo back).
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      await page.evaluate(() => document.getAnimations().filter((a) => a.playState === "running").length),
    ).toBe(0);
    const keys = "echo hello-from-deno\n".length;
    expect(await page.evaluate("window.sent")).toBeLessThanOrEqual(keys + 2);
    await page.keyboard.type("stty size\n");
    const before = await waitForLine((l) => /^\d+ \d+$/.test(l));
    await page.setViewportSize({ width: 700, height: 450 });
    await page.keyboard.type("clear; stty size\n");
    const after = await waitForLine((l) => /^\d+ \d+$/.test(l) && l !== before);
    const [rowsBefore, colsBefore] = before.split(" ").map(Number);
    const [rowsAfter, colsAfter] = after.split(" ").map(Number);
    expect(colsAfter!).toBeLessThan(colsBefore!);
    expect(rowsAfter!).toBeLessThan(rowsBefore!);
    await page.keyboard.type("exit 7\n");
    await eventually(async () =>
      expect(await page.textContent("#terminal-status")).toMatch(/^exited with 7/),
    );
    const session = await page.getAttribute("#terminal", "data-session");
    const cast = await new Outpost({ url: stack.url, token: adminKey }).recording(session!);
    expect(cast).toContain("hello-from-deno");
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  }, 90_000);
});
