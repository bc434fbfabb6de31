// Multi-host rollouts (issue 13 item 8), end to end: the real Worker in workerd with the ClusterDO
// driving the rollout from its alarm, real R2, real agents under Bun and Deno in one cluster, the CLI as
// a real process, examples/shop as the app. A rollout over both agents; a broken canary stops the
// rollout and is reverted while the other host never gets it; the CLI detached mid-rollout (and the
// control plane restarted under it) and `deploys show -f` sees it finish; an offline host fails alone
// after --host-timeout; a viewer is refused and another tenant sees 404.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { killAppProcesses } from "./harness/app-processes.ts";
import { runCli } from "./harness/cli.ts";
import { start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const SHOP = fileURLToPath(new URL("../examples/shop", import.meta.url));
const CLI = fileURLToPath(new URL("../sdk/bin/outpost.js", import.meta.url));
const APP = "roll";

let stack: Stack;
let env: Record<string, string>;
let other: Record<string, string>;
let viewer: Record<string, string>;
let client: Awaited<ReturnType<Stack["tenantInProd"]>>["client"];
const agents: TestAgent[] = [];

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("rollout");
  client = t.client;
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token, OUTPOST_DEPLOY_WAIT_MS: "90000" };
  // ro-bun sorts first: it is the canary.
  for (const runtime of RUNTIMES) {
    agents.push(
      await startAgent(t.client, {
        runtime,
        name: `ro-${runtime}`,
        cluster: "prod",
        site: "fra1",
        url: stack.url,
      }),
    );
  }
  const key = await t.client.keys.create({ name: "watcher", role: "viewer" });
  viewer = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: key.token };
  const o = await stack.tenantInProd("rollout-other");
  other = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: o.token };
}, 180_000);

afterAll(async () => {
  for (const a of agents) {
    await a.stop();
    killAppProcesses(a.stateDir, APP);
  }
  await stack?.close();
});

/** The shop with env `vars` and health grace `grace`. */
function shop(vars: string, grace = "20s"): string {
  const dir = mkdtempSync(join(tmpdir(), "roll-"));
  cpSync(SHOP, dir, { recursive: true });
  const toml = readFileSync(join(dir, "outpost.toml"), "utf8");
  writeFileSync(
    join(dir, "outpost.toml"),
    toml.replace("[health]", `env = { ${vars} }\n\n[health]`).replace('grace = "20s"', `grace = "${grace}"`),
  );
  return dir;
}

async function show(id: string) {
  return JSON.parse((await runCli(["deploys", "show", id, "--json"], env)).stdout) as {
    status: string;
    kind: string;
    message: string | null;
    hosts: { host: string; status: string; message: string | null }[];
  };
}

const hostStates = (d: Awaited<ReturnType<typeof show>>) =>
  Object.fromEntries(d.hosts.map((h) => [h.host, h.status]));

async function lastDeployId(): Promise<string> {
  const { items } = JSON.parse((await runCli(["deploys", APP, "--json"], env)).stdout);
  return items[0].id;
}

async function releaseOn(host: string): Promise<{ release: number; live: number | null; status: string }> {
  const { items } = await client.apps.list("prod");
  const row = items.find((i) => i.app === APP && i.host === host);
  if (!row) throw new Error(`${APP} not on ${host}`);
  return row;
}

describe("outpost deploy --cluster (rollout)", () => {
  it("rolls a release out across a Bun and a Deno agent, one host at a time", async () => {
    const res = await runCli(["deploy", APP, shop('SHOP_GREETING = "one"'), "--cluster", "prod"], env);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    // Not a terminal: one line per host change, ending with both live.
    expect(res.stdout).toMatch(/ro-bun\.prod: succeeded/);
    expect(res.stdout).toMatch(/ro-deno\.prod: succeeded/);
    const d = await show(await lastDeployId());
    expect(d).toMatchObject({ kind: "rollout", status: "succeeded" });
    for (const a of agents)
      expect(await releaseOn(`ro-${a.runtime}.prod`)).toMatchObject({ live: 1, status: "healthy" });
  }, 150_000);

  it("stops after a broken canary, reverts it, and never gives the other host the release", async () => {
    const res = await runCli(
      ["deploy", APP, shop('SHOP_BROKEN = "1"', "3s"), "--cluster", "prod", "--canary", "1", "--json"],
      env,
    );
    expect(res.code, res.stderr).toBe(1);
    const events = res.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.at(-1)).toMatchObject({ t: "done", status: "failed" });
    expect(events.at(-1).message).toMatch(/failed its health gate on ro-bun\.prod/);
    const d = await show(await lastDeployId());
    expect(hostStates(d)).toEqual({ "ro-bun.prod": "failed", "ro-deno.prod": "skipped" });
    // The canary is back on release 1 (desired and live); the other host was never told about 2.
    expect(await releaseOn("ro-bun.prod")).toMatchObject({ release: 1, live: 1 });
    expect(await releaseOn("ro-deno.prod")).toMatchObject({ release: 1, live: 1, status: "healthy" });
    const { events: audit } = await client.audit({ limit: 50 });
    expect(JSON.stringify(audit.filter((e) => e.action === "app.revert"))).toMatch(/ro-bun\.prod/);
  }, 150_000);

  it("goes on when the CLI detaches and the control plane restarts; deploys show -f sees it finish", async () => {
    const proc = start(
      process.execPath,
      [CLI, "deploy", APP, shop('SHOP_GREETING = "three"'), "--cluster", "prod", "--max-parallel", "1"],
      { env: { ...process.env, ...env } },
    );
    const out = await proc.waitFor(/as (dep_[0-9a-z]{16})/, 60_000);
    const id = /as (dep_[0-9a-z]{16})/.exec(out)![1]!;
    expect(await proc.stop("SIGINT")).toBe(0);
    expect(proc.output()).toMatch(new RegExp(`Reattach with: outpost deploys show ${id} -f`));
    await stack.restartControlPlane();
    const res = await runCli(["deploys", "show", id, "-f"], env);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(res.stdout).toMatch(/rollout: succeeded/);
    expect(hostStates(await show(id))).toEqual({ "ro-bun.prod": "succeeded", "ro-deno.prod": "succeeded" });
  }, 180_000);

  it("fails an offline host alone after --host-timeout while the other succeeds", async () => {
    const deno = agents.find((a) => a.runtime === "deno")!;
    await deno.stop();
    await eventually(async () => {
      const { host } = await client.hosts.get(deno.ref);
      if (host.status === "online") throw new Error("still online");
    }, 60_000);
    const before = (await releaseOn("ro-deno.prod")).release;
    const res = await runCli(
      ["deploy", APP, shop('SHOP_GREETING = "four"'), "--cluster", "prod", "--host-timeout", "4s"],
      env,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/live on every host but ro-deno\.prod/);
    const d = await show(await lastDeployId());
    expect(hostStates(d)).toEqual({ "ro-bun.prod": "succeeded", "ro-deno.prod": "failed" });
    expect(d.hosts.find((h) => h.host === "ro-deno.prod")!.message).toMatch(/no healthy report within 4s/);
    // Put back where it was: a late reconnect does not run the unchecked release.
    expect((await releaseOn("ro-deno.prod")).release).toBe(before);
  }, 150_000);

  it("refuses a viewer (403) and shows another tenant nothing (404)", async () => {
    const v = await runCli(
      ["deploy", APP, shop('SHOP_GREETING = "v"'), "--cluster", "prod", "--no-wait"],
      viewer,
    );
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/403|operator|not allowed|forbidden/i);
    const id = await lastDeployId();
    const o = await runCli(["deploys", "show", id, "-f"], other);
    expect(o.code).toBe(1);
    expect(o.stderr).toMatch(/not found|404/i);
    expect(o.stdout + o.stderr).not.toMatch(/ro-bun/);
    // Their cluster "prod" has no hosts of ours: a rollout there finds none.
    const r = await runCli(
      ["deploy", APP, shop('SHOP_GREETING = "o"'), "--cluster", "prod", "--no-wait"],
      other,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no host in cluster 'prod'/);
  }, 60_000);
});
