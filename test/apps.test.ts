// Apps end to end (issue 13): the real Worker in workerd, real R2 in Miniflare, real agents under Bun
// and Deno, the CLI as a real process, examples/shop as the app: deploy, curl through `outpost
// forward <host>:shop`, a second deploy under a bounded loopback load with no failed request, a broken
// release refused while the old keeps serving, rollback, day-two commands, and a hostile tenant.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { killAppProcesses } from "./harness/app-processes.ts";
import { runCli } from "./harness/cli.ts";
import { type Running, start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const SHOP = fileURLToPath(new URL("../examples/shop", import.meta.url));
const CLI = fileURLToPath(new URL("../sdk/bin/outpost.js", import.meta.url));

let stack: Stack;
let env: Record<string, string>;
let other: Record<string, string>;
let viewer: Record<string, string>;
const agents: TestAgent[] = [];

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("apps");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token, OUTPOST_DEPLOY_WAIT_MS: "40000" };
  for (const runtime of RUNTIMES) {
    agents.push(
      await startAgent(t.client, {
        runtime,
        name: `app-${runtime}`,
        cluster: "prod",
        site: "fra1",
        url: stack.url,
      }),
    );
  }
  const key = await t.client.keys.create({ name: "watcher", role: "viewer" });
  viewer = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: key.token };
  const o = await stack.tenantInProd("apps-other");
  other = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: o.token };
}, 180_000);

afterAll(async () => {
  for (const a of agents) {
    await a.stop();
    killAppProcesses(a.stateDir, `shop-${a.runtime}`);
  }
  await stack?.close();
});

/** A copy of the shop with its outpost.toml edited (a new release has new content). */
function shop(edit: (toml: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "shop-"));
  cpSync(SHOP, dir, { recursive: true });
  writeFileSync(join(dir, "outpost.toml"), edit(readFileSync(join(dir, "outpost.toml"), "utf8")));
  return dir;
}

/** The shop with plain env `vars` (before the [health] table, where top-level keys must be). */
const withEnv = (vars: string, grace = "20s") =>
  shop((t) =>
    t.replace("[health]", `env = { ${vars} }\n\n[health]`).replace('grace = "20s"', `grace = "${grace}"`),
  );

function get(port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** `outpost forward <host>:shop`, running; its local port. */
async function forward(host: string, app: string): Promise<{ proc: Running; port: number }> {
  const proc = start(process.execPath, [CLI, "forward", `${host}:${app}`, "--listen", "127.0.0.1:0"], {
    env: { ...process.env, ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const deadline = Date.now() + 20_000;
    const poll = () => {
      const m = /127\.0\.0\.1:(\d+)/.exec(proc.output());
      if (m && Number(m[1]) > 0) return resolve(Number(m[1]));
      if (Date.now() > deadline) return reject(new Error(`forward did not start: ${proc.output()}`));
      setTimeout(poll, 100);
    };
    poll();
  });
  return { proc, port };
}

describe.each(RUNTIMES)("the shop on a %s agent", (runtime) => {
  const host = () => `app-${runtime}.prod`;
  const name = `shop-${runtime}`;

  it("deploys, answers through outpost forward, and lists its release", async () => {
    const res = await runCli(["deploy", name, withEnv('SHOP_GREETING = "hello"'), "--to", host()], env);
    expect(res.stderr + res.stdout).toMatch(/release \d+ is live/);
    expect(res.code).toBe(0);
    const fwd = await forward(host(), name);
    try {
      const r = await get(fwd.port);
      expect(r.body).toMatch(/^shop release \d+ says hello/);
    } finally {
      await fwd.proc.stop();
    }
    const apps = JSON.parse((await runCli(["apps", "--json"], env)).stdout);
    expect(apps.items.find((a: { host: string }) => a.host === host())).toMatchObject({
      app: name,
      status: "healthy",
    });
  }, 120_000);

  it("swaps to a second release with no failed request under load", async () => {
    const fwd = await forward(host(), name);
    let failed = 0;
    let ok = 0;
    let stop = false;
    const releases = new Set<string>();
    const load = (async () => {
      const deadline = Date.now() + 60_000;
      for (let i = 0; i < 5000 && !stop && Date.now() < deadline; i++) {
        try {
          const r = await get(fwd.port);
          if (r.status === 200) {
            ok++;
            releases.add(r.body.split(" ")[2]!);
          } else failed++;
        } catch {
          failed++;
        }
      }
    })();
    try {
      const res = await runCli(["deploy", name, withEnv('SHOP_GREETING = "again"'), "--to", host()], env);
      expect(res.code, res.stderr).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      stop = true;
      await load;
      await fwd.proc.stop();
    }
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(10);
    expect(releases.size).toBe(2);
  }, 120_000);

  it("refuses a broken release and keeps the old one serving", async () => {
    const res = await runCli(["deploy", name, withEnv('SHOP_BROKEN = "1"', "3s"), "--to", host()], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/failed its health check.*503 broken on purpose/);
    const fwd = await forward(host(), name);
    try {
      expect((await get(fwd.port)).body).toMatch(/says again/);
    } finally {
      await fwd.proc.stop();
    }
  }, 120_000);

  it("rolls back to the release before, with no upload", async () => {
    const res = await runCli(["rollback", name], env);
    expect(res.code, res.stderr).toBe(0);
    const fwd = await forward(host(), name);
    try {
      expect((await get(fwd.port)).body).toMatch(/says hello/);
    } finally {
      await fwd.proc.stop();
    }
    const rel = JSON.parse((await runCli(["releases", name, "--json"], env)).stdout);
    expect(
      rel.items.map((r: { release: number; live: boolean; healthy: boolean }) => [
        r.release,
        r.live,
        r.healthy,
      ]),
    ).toEqual([
      [3, false, false],
      [2, false, true],
      [1, true, true],
    ]);
  }, 120_000);
});

describe("day two", () => {
  const status = async () =>
    (
      JSON.parse((await runCli(["apps", "--json"], env)).stdout).items as {
        app: string;
        status: string;
        live: number | null;
      }[]
    ).find((a) => a.app === "shop-bun");

  it("restarts, stops, starts and removes an app", async () => {
    const restart = await runCli(["app", "restart", "shop-bun"], env);
    expect(restart.code, `${restart.stderr}\n${agents[0]!.process.output().slice(-3000)}`).toBe(0);
    expect((await runCli(["app", "stop", "shop-bun"], env)).code).toBe(0);
    expect((await status())?.live).toBeNull();
    expect((await runCli(["app", "start", "shop-bun"], env)).code).toBe(0);
    expect(await status()).toMatchObject({ status: "healthy", live: 1 });
    const deploys = JSON.parse((await runCli(["deploys", "shop-bun", "--json"], env)).stdout).items;
    expect(deploys.slice(0, 3).map((d: { kind: string; status: string }) => `${d.kind} ${d.status}`)).toEqual(
      ["start succeeded", "stop succeeded", "restart succeeded"],
    );
  }, 120_000);

  it("refuses a second deployment of an app while one runs, naming it", async () => {
    const first = await runCli(
      ["deploy", "shop-deno", withEnv('SHOP_BROKEN = "1"', "20s"), "--to", "app-deno.prod", "--no-wait"],
      env,
    );
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(["rollback", "shop-deno"], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/has a deployment running \(dep_[0-9a-z]{16}\)/);
  }, 120_000);

  it("lets a viewer list but not change or run apps", async () => {
    expect((await runCli(["apps", "--json"], viewer)).code).toBe(0);
    for (const args of [
      ["app", "stop", "shop-bun"],
      ["rollback", "shop-bun"],
      ["deploy", "shop-bun", SHOP, "--to", "app-bun.prod"],
    ]) {
      const res = await runCli(args, viewer);
      expect(res.code, args.join(" ")).toBe(1);
      expect(res.stderr).toMatch(/operator|forbidden|role/i);
    }
  }, 60_000);

  it("removes an app from its host", async () => {
    expect((await runCli(["app", "rm", "shop-bun"], env)).code).toBe(0);
    expect(await status()).toMatchObject({ live: null });
  }, 60_000);
});

describe("refusals", () => {
  it("refuses a spec error before any upload, naming the key", async () => {
    const res = await runCli(
      ["deploy", "shop", shop((t) => `retries = 3\n${t}`), "--to", "app-bun.prod"],
      env,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/unknown key retries/);
  });

  it("gives another tenant 404 for the app and its deployments, never its data", async () => {
    for (const args of [
      ["releases", "shop-bun"],
      ["rollback", "shop-bun"],
      ["app", "stop", "shop-bun"],
    ]) {
      const res = await runCli(args, other);
      expect(res.code, args.join(" ")).toBe(1);
      expect(res.stderr).toMatch(/not found/);
    }
    const mine = JSON.parse((await runCli(["deploys", "--json"], env)).stdout).items[0].id;
    const res = await runCli(["deploys", "show", mine], other);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/not found/);
    expect(JSON.parse((await runCli(["apps", "--json"], other)).stdout).items).toEqual([]);
  });
});
