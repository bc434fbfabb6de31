// Fan-out exec end to end: `outpost exec --cluster prod -l …` runs on a Bun and a Deno agent through
// one connection to the ClusterDO, output prefixed per host, --json events, --out-dir files, a summary
// with offline hosts listed, exit codes, Ctrl-C stopping every remote process, sessions and the one
// audit event; bad selectors, no match, viewers and other tenants refused.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { encodeExecSpec } from "../schema/protocol/exec-spec.ts";
import { OutpostApiError } from "../sdk/index.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN, runCli } from "./harness/cli.ts";
import { insertHost } from "./harness/fixtures.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let a: Awaited<ReturnType<Stack["tenantInProd"]>>;
let env: Record<string, string>;
const agents: TestAgent[] = [];

beforeAll(async () => {
  stack = await startStack();
  a = await stack.tenantInProd("fleet-exec");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: a.token, XDG_CONFIG_HOME: stack.dir };
  const common = { cluster: "prod", site: "fra1", url: stack.url };
  agents.push(
    ...(await Promise.all([
      startAgent(a.client, { ...common, runtime: "bun", name: "web01", labels: "role=web,zone=a" }),
      startAgent(a.client, { ...common, runtime: "deno", name: "web02", labels: "role=web,zone=b" }),
    ])),
  );
  const cluster = (await a.client.clusters.get("prod")).cluster;
  const site = (await a.client.sites.get("prod", "fra1")).site;
  await insertHost(stack.dbUrl, {
    tenantId: a.id,
    clusterId: cluster.id,
    siteId: site.id,
    name: "cache01",
    labels: { role: "cache" },
    status: "offline",
  });
}, 180_000);

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await stack?.close();
});

describe("outpost exec --cluster", () => {
  it("runs on every matching host, Bun and Deno, with prefixed output and a summary", async () => {
    const res = await runCli(["exec", "--cluster", "prod", "-l", "role=web", "--", "uptime"], env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const lines = res.stdout.split("\n");
    expect(lines.filter((l) => /^web01\.prod: .*load average/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^web02\.prod: .*load average/.test(l))).toHaveLength(1);
    const header = lines.findIndex((l) => /^HOST\s+STATUS\s+EXIT\s+DURATION\s+BYTES$/.test(l));
    expect(header).toBeGreaterThan(0);
    expect(lines.slice(header + 1, header + 3).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ["web01.prod", "ok", "0"],
      ["web02.prod", "ok", "0"],
    ]);
  });

  it("prints one JSON object per event with --json, and exits 1 unless every host exited 0", async () => {
    const res = await runCli(
      [
        "exec",
        "--cluster",
        "prod",
        "-l",
        "role=web",
        "--json",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
      ],
      env,
    );
    expect(res.code).toBe(1);
    const events = res.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events[0]).toEqual({ event: "plan", hosts: ["web01.prod", "web02.prod"], offline: [] });
    for (const host of ["web01.prod", "web02.prod"]) {
      const mine = events.filter((e) => e.host === host);
      expect(mine.map((e) => e.event)).toEqual(
        expect.arrayContaining(["started", "stdout", "stderr", "exit"]),
      );
      expect(mine.find((e) => e.event === "stdout").data).toBe("out\n");
      expect(mine.find((e) => e.event === "exit")).toMatchObject({ code: 3, bytes: 8 });
    }
    const summary = events.at(-1);
    expect(summary.event).toBe("summary");
    expect(summary.items).toEqual([
      expect.objectContaining({ host: "web01.prod", status: "ok", exitCode: 3, bytes: 8 }),
      expect.objectContaining({ host: "web02.prod", status: "ok", exitCode: 3, bytes: 8 }),
    ]);
  });

  it("lists offline hosts as such, and writes one file per host and stream with --out-dir", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fanout-out-"));
    const res = await runCli(
      [
        "exec",
        "--cluster",
        "prod",
        "-l",
        "role in (web,cache)",
        "--out-dir",
        dir,
        "--",
        "sh",
        "-c",
        "echo hi; echo oops >&2",
      ],
      env,
    );
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^cache01\.prod\s+offline\s+-/m);
    expect(res.stdout).toMatch(/^web01\.prod\s+ok\s+0/m);
    expect(res.stdout).not.toMatch(/: hi/);
    for (const host of ["web01.prod", "web02.prod"]) {
      expect(readFileSync(join(dir, `${host}.stdout`), "utf8")).toBe("hi\n");
      expect(readFileSync(join(dir, `${host}.stderr`), "utf8")).toBe("oops\n");
    }
  });

  it("says so and exits 1 when no host matches; a selector that does not parse is refused naming where", async () => {
    const none = await runCli(["exec", "--cluster", "prod", "-l", "role=nope", "--", "true"], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no host in cluster 'prod' matches 'role=nope' \(404 no_hosts\)/);
    const usage = await runCli(["exec", "--cluster", "prod", "-l", "role in (web", "--", "true"], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/position 13/);
    const spec = encodeExecSpec({ argv: ["true"] });
    const api = await raw(
      stack,
      "GET",
      `/v1/clusters/prod/exec?spec=${spec}&selector=${encodeURIComponent("a=b,,")}`,
      {
        token: a.token,
      },
    );
    expect(api.status).toBe(400);
    expect(api.body.error?.message).toMatch(/selector: Cannot parse selector at position 5/);
    const stray = await runCli(["exec", "web01.prod", "-l", "role=web", "--", "true"], env);
    expect(stray.code).toBe(2);
  });

  it("makes every per-host run a session and the fan-out one audit event with its selector", async () => {
    const res = await runCli(["exec", "--cluster", "prod", "-l", "zone=b", "--", "echo", "audited"], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^web02\.prod: audited$/m);
    const { events } = await a.client.audit({ limit: 20 });
    const fanouts = events.filter(
      (e) => e.action === "cluster.exec" && (e.details as { selector?: string }).selector === "zone=b",
    );
    expect(fanouts).toHaveLength(1);
    expect(fanouts[0]?.details).toMatchObject({ cluster: "prod", argv: ["echo", "audited"], hosts: 1 });
    // The ends are written as the hosts finish, beside the summary: soon after it, not before.
    await eventually(async () => {
      const { sessions } = await a.client.sessions({ host: "web02.prod" });
      expect(
        sessions.find((s) => JSON.stringify(s.argv) === JSON.stringify(["echo", "audited"])),
      ).toMatchObject({ exitCode: 0, bytesOut: 8 });
    });
  });

  it("stops everywhere on Ctrl-C: both remote processes are gone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fanout-int-"));
    const pids = join(dir, "pids");
    const child = spawn(
      process.execPath,
      [
        CLI_BIN,
        "exec",
        "--cluster",
        "prod",
        "-l",
        "role=web",
        "--",
        "sh",
        "-c",
        `echo $$ >> ${pids}; exec sleep 300`,
      ],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const running = await eventually(async () => {
      const list = readFileSync(pids, "utf8").trim().split("\n").map(Number);
      if (list.length < 2) throw new Error(`only ${list.length} started`);
      return list;
    }, 30_000);
    for (const pid of running) expect(alive(pid)).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(out).toMatch(/^web0[12]\.prod\s+stopped/m);
    await eventually(async () => {
      for (const pid of running) if (alive(pid)) throw new Error(`${pid} still runs`);
    }, 15_000);
  });
});

/** A fan-out opened by hand, with extra headers; its events, or the refusal's status and body. */
function rawFanout(
  token: string,
  query: string,
  headers: Record<string, string>,
): Promise<{ status: number; events: Array<Record<string, unknown>>; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${stack.url.replace(/^http/, "ws")}/v1/clusters/prod/exec?${query}`, {
      headers: { authorization: `Bearer ${token}`, ...headers },
    });
    const events: Array<Record<string, unknown>> = [];
    ws.on("message", (data) => events.push(JSON.parse(String(data))));
    ws.on("close", () => resolve({ status: 101, events }));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, events, body }));
    });
    ws.on("error", (err) => reject(err));
  });
}

describe("forged headers", () => {
  it("ignores a client's copy of the Worker-to-object plan and stream headers", async () => {
    const hostsOfA = agents.map((x) => ({ id: x.hostId, fqdn: x.ref, online: true }));
    const forgedPlan = {
      tenantId: a.id,
      actor: "key:forged",
      spec: { argv: ["echo", "forged"] },
      maxParallel: 4,
      hosts: hostsOfA,
      audit: { target: "forged", details: {} },
    };
    const forged = {
      "x-outpost-fanout-plan": encodeURIComponent(JSON.stringify(forgedPlan)),
      "x-outpost-stream-request": encodeURIComponent(
        JSON.stringify({
          kind: "exec",
          spec: forgedPlan.spec,
          tenantId: a.id,
          actor: "key:forged",
          hostName: "x",
        }),
      ),
    };
    const spec = encodeExecSpec({ argv: ["echo", "real"] });
    const run = await rawFanout(a.token, `spec=${spec}&selector=zone%3Db`, forged);
    expect(run.status).toBe(101);
    expect(run.events[0]).toEqual({ t: "plan", hosts: ["web02.prod"], offline: [] });
    const out = run.events
      .filter((e) => e.t === "stdout")
      .map((e) => Buffer.from(String(e.data), "base64url").toString());
    expect(out).toEqual(["real\n"]);
    expect(run.events.at(-1)).toEqual({ t: "done" });
    const { sessions } = await a.client.sessions({ host: "web01.prod" });
    expect(sessions.filter((s) => s.argv.includes("forged"))).toEqual([]);
    // Another tenant forging A's hosts into its own cluster finds none of them: refused, nothing ran.
    const b = await stack.tenantInProd("fleet-exec-forger");
    const theirs = await rawFanout(b.token, `spec=${spec}`, forged);
    expect(theirs.status).toBe(404);
    expect(JSON.parse(theirs.body ?? "{}").error.code).toBe("no_hosts");
    const after = await a.client.sessions({ host: "web02.prod" });
    expect(after.sessions.filter((s) => s.argv.includes("forged"))).toEqual([]);
  });
});

describe("refusals", () => {
  it("refuses viewers (403) and other tenants (404, nothing run)", async () => {
    const spec = encodeExecSpec({ argv: ["true"] });
    const viewer = await a.client.keys.create({ role: "viewer" });
    const asViewer = await raw(stack, "GET", `/v1/clusters/prod/exec?spec=${spec}`, { token: viewer.token });
    expect(asViewer.status).toBe(403);
    const b = await stack.tenantInProd("fleet-exec-b");
    const cluster = (await a.client.clusters.get("prod")).cluster;
    const theirs = await raw(stack, "GET", `/v1/clusters/${cluster.id}/exec?spec=${spec}`, {
      token: b.token,
    });
    expect(theirs.status).toBe(404);
    expect(JSON.stringify(theirs.body)).not.toMatch(/web0/);
    const run = b.client.fanout(cluster.id, ["true"]);
    const err = await (async () => {
      for await (const _ of run.events) {
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostApiError);
    expect((err as OutpostApiError).status).toBe(404);
    // Its own prod has no hosts: a fan-out there matches none, and never reaches A's.
    const own = await runCli(["exec", "--cluster", "prod", "--", "true"], { ...env, OUTPOST_TOKEN: b.token });
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/no host in cluster 'prod'/);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
