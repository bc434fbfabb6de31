// Queued jobs end to end, on a Bun and a Deno agent: a job created while a host is down runs once when
// it comes back, and never again — not on a redelivery after a lost result, a reconnect, an agent
// restart, nor after the control plane (every Durable Object) restarts. Results are kept and shown;
// cancel signals the running step and later steps never start; bad input and other tenants refused.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutpostApiError } from "../sdk/index.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { enrollIdentity, RawAgent } from "./harness/raw-agent.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let a: Awaited<ReturnType<Stack["tenantInProd"]>>;
let env: Record<string, string>;
let web01: TestAgent;
let web02: TestAgent;
const dir = mkdtempSync(join(tmpdir(), "jobs-test-"));

beforeAll(async () => {
  stack = await startStack();
  a = await stack.tenantInProd("jobs-a");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: a.token, XDG_CONFIG_HOME: stack.dir };
  const common = { cluster: "prod", site: "fra1", url: stack.url };
  [web01, web02] = await Promise.all([
    startAgent(a.client, { ...common, runtime: "bun", name: "web01", labels: "role=web,zone=a" }),
    startAgent(a.client, { ...common, runtime: "deno", name: "web02", labels: "role=web,zone=b" }),
  ]);
}, 180_000);

afterAll(async () => {
  await web01?.stop();
  await web02?.stop();
  await stack?.close();
});

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : [];
const states = async (id: string) =>
  Object.fromEntries((await a.client.jobs.get(id)).hosts.map((h) => [h.host, h.state]));

/** What a lost result looks like to the control plane: the rows back to queued. */
async function forgetResults(id: string): Promise<void> {
  const db = createClient({ url: stack.dbUrl });
  try {
    await db.execute({
      sql: "update job_hosts set state = 'queued', finished_at = null where job_id = ?",
      args: [id],
    });
  } finally {
    db.close();
  }
}

async function online(agent: TestAgent): Promise<void> {
  await eventually(async () => {
    const h = (await a.client.hosts.get(agent.ref)).host;
    if (h.status !== "online") throw new Error(`${agent.ref} is ${h.status}: ${agent.process.output()}`);
  }, 60_000);
}

describe("outpost job run", () => {
  it("runs a job created while a host is down once when it comes back, and never again", async () => {
    const runs = join(dir, "runs");
    await web02.stop();
    await eventually(async () => {
      if ((await a.client.hosts.get(web02.ref)).host.status === "online") throw new Error("still online");
    });
    const created = await runCli(
      [
        "job",
        "run",
        "--cluster",
        "prod",
        "-l",
        "role=web",
        "--json",
        "--",
        "sh",
        "-c",
        `echo run >> ${runs}; echo hello; echo warn >&2`,
      ],
      env,
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const id = JSON.parse(created.stdout).job.id as string;
    await eventually(async () =>
      expect(await states(id)).toEqual({ "web01.prod": "succeeded", "web02.prod": "queued" }),
    );
    expect(lines(runs)).toHaveLength(1);

    await web02.restart();
    await eventually(
      async () => expect(await states(id)).toEqual({ "web01.prod": "succeeded", "web02.prod": "succeeded" }),
      60_000,
    );
    expect(lines(runs)).toHaveLength(2);
    const logs = await runCli(["job", "logs", id, "--host", "web02.prod"], env);
    expect(logs.stdout).toBe("==> web02.prod (succeeded) <==\nhello\n");
    expect(logs.stderr).toBe("warn\n");
    const shown = await runCli(["job", "show", id], env);
    expect(shown.stdout).toMatch(/^web01\.prod\s+succeeded\s+0\s+0\s/m);

    // A lost result, then a reconnect and an agent restart: redelivered, answered from the ledger.
    await forgetResults(id);
    await web01.restart();
    await web02.restart();
    await eventually(
      async () => expect(await states(id)).toEqual({ "web01.prod": "succeeded", "web02.prod": "succeeded" }),
      60_000,
    );
    expect(lines(runs)).toHaveLength(2);

    // Every Durable Object evicted (the control plane restarts): redelivered again, never run again.
    await forgetResults(id);
    await stack.restartControlPlane();
    await online(web01);
    await online(web02);
    await eventually(
      async () => expect(await states(id)).toEqual({ "web01.prod": "succeeded", "web02.prod": "succeeded" }),
      60_000,
    );
    expect(lines(runs)).toHaveLength(2);
    const ls = await runCli(["job", "ls", "--json"], env);
    expect(JSON.parse(ls.stdout).items.find((j: { id: string }) => j.id === id).states).toEqual({
      succeeded: 2,
    });
  });

  it("runs steps in order and stops at the first failure; cancel signals the running step", async () => {
    const steps = join(dir, "steps.json");
    const marker = join(dir, "after-fail");
    writeFileSync(
      steps,
      JSON.stringify({
        steps: [
          ["echo", "one"],
          ["sh", "-c", "exit 4"],
          ["touch", marker],
        ],
      }),
    );
    const failed = await runCli(
      ["job", "run", "--cluster", "prod", "-l", "zone=a", "--file", steps, "--json"],
      env,
    );
    expect(failed.code).toBe(0);
    const fid = JSON.parse(failed.stdout).job.id as string;
    await eventually(async () => expect(await states(fid)).toEqual({ "web01.prod": "failed" }));
    expect((await a.client.jobs.get(fid)).hosts[0]).toMatchObject({ step: 1, exitCode: 4 });
    expect(existsSync(marker)).toBe(false);

    const pidFile = join(dir, "pid");
    const never = join(dir, "never");
    const { job } = await a.client.jobs.run({
      cluster: "prod",
      selector: "zone=a",
      steps: [
        ["sh", "-c", `echo $$ > ${pidFile}; exec sleep 300`],
        ["touch", never],
      ],
    });
    const pid = await eventually(async () => {
      const text = readFileSync(pidFile, "utf8").trim();
      if (!text) throw new Error("no pid yet");
      return Number(text);
    }, 30_000);
    await eventually(async () => expect(await states(job.id)).toEqual({ "web01.prod": "running" }));
    const cancelled = await runCli(["job", "cancel", job.id], env);
    expect(cancelled.stdout).toMatch(/1 running step\(s\) signalled/);
    await eventually(async () => expect(await states(job.id)).toEqual({ "web01.prod": "cancelled" }));
    expect(alive(pid)).toBe(false);
    expect(existsSync(never)).toBe(false);
  });
});

describe("--include-new", () => {
  it("runs the job once on a host that enrolls later with matching labels", async () => {
    const runs = join(dir, "late-runs");
    const res = await runCli(
      [
        "job",
        "run",
        "--cluster",
        "prod",
        "-l",
        "role=late",
        "--include-new",
        "--json",
        "--",
        "sh",
        "-c",
        `echo run >> ${runs}`,
      ],
      env,
    );
    expect(res.code).toBe(0);
    const { job, hosts } = JSON.parse(res.stdout);
    expect(hosts).toBe(0);
    const late = await startAgent(a.client, {
      cluster: "prod",
      site: "fra1",
      url: stack.url,
      runtime: "bun",
      name: "late01",
      labels: "role=late",
    });
    try {
      await eventually(
        async () => expect(await states(job.id)).toEqual({ "late01.prod": "succeeded" }),
        30_000,
      );
      expect(lines(runs)).toHaveLength(1);
    } finally {
      await late.stop();
    }
  });
});

describe("a hostile agent", () => {
  it("cannot report on another host's job, nor rewrite a result once it is in", async () => {
    const { job } = await a.client.jobs.run({
      cluster: "prod",
      selector: "zone=a",
      steps: [["echo", "mine"]],
    });
    await eventually(async () => expect(await states(job.id)).toEqual({ "web01.prod": "succeeded" }));
    const evil = await RawAgent.connect(stack.url, await enrollIdentity(stack.url, a.client, "evil01"));
    try {
      await evil.handshake();
      await evil.sendFrame({
        t: "job.result",
        job: job.id,
        state: "failed",
        code: 9,
        stdout: new TextEncoder().encode("forged"),
      } as never);
      await evil.sendFrame({ t: "ping", time: Date.now() } as never);
      await evil.receiveFrame("pong");
    } finally {
      evil.ws.close();
    }
    const after = (await a.client.jobs.get(job.id)).hosts;
    expect(after).toEqual([expect.objectContaining({ host: "web01.prod", state: "succeeded", exitCode: 0 })]);
    const logs = await a.client.jobs.logs(job.id);
    expect(Buffer.from(logs.logs[0]!.stdout, "base64").toString()).toBe("mine\n");
  });
});

describe("refusals", () => {
  it("refuses a TTL over the maximum, a bad selector, no match, viewers and other tenants", async () => {
    const ttl = await runCli(["job", "run", "--cluster", "prod", "--ttl", "8d", "--", "true"], env);
    expect(ttl.code).toBe(1);
    expect(ttl.stderr).toMatch(/ttl: must be a duration like 30m or 2h, at most 7d \(400/);
    const sel = await raw(stack, "POST", "/v1/jobs", {
      token: a.token,
      body: { cluster: "prod", selector: "a in", steps: [["true"]] },
    });
    expect(sel.status).toBe(400);
    expect(sel.body.error?.message).toMatch(/position 5/);
    const none = await runCli(["job", "run", "--cluster", "prod", "-l", "role=nope", "--", "true"], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no host in cluster 'prod' matches 'role=nope'/);
    const viewer = await a.client.keys.create({ role: "viewer" });
    const asViewer = await raw(stack, "POST", "/v1/jobs", {
      token: viewer.token,
      body: { cluster: "prod", steps: [["true"]] },
    });
    expect(asViewer.status).toBe(403);
    const { job } = await a.client.jobs.run({
      cluster: "prod",
      selector: "role=nope",
      steps: [["true"]],
      includeNew: true,
    });
    const b = await stack.tenantInProd("jobs-b");
    for (const call of [
      () => b.client.jobs.get(job.id),
      () => b.client.jobs.logs(job.id),
      () => b.client.jobs.cancel(job.id),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutpostApiError);
      expect((err as OutpostApiError).status).toBe(404);
    }
    expect((await b.client.jobs.list()).jobs).toEqual([]);
    expect((await a.client.jobs.get(job.id)).job.cancelledAt).toBeNull();
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
