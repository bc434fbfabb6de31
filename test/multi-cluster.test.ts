// One agent, several clusters: a state dir holding two identities (two tenants' clusters on one
// control plane), each with its own key, pinned control plane key and connection; `status`, `leave`
// and SIGHUP; a state dir laid out by a single-identity agent keeps working as it is.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../schema/protocol/index.ts";
import { formatControlPlaneKey } from "../schema/protocol/keys.ts";
import type { Outpost } from "../sdk/index.ts";
import { eventually, RUNTIMES, runAgent } from "./harness/agent.ts";
import type { Running } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let a: Outpost;
let b: Outpost;
const running: Running[] = [];

beforeAll(async () => {
  stack = await startStack();
  a = (await stack.tenantInProd("multi-a")).client;
  b = (await stack.tenant("multi-b")).client;
  await b.clusters.create("edge");
  await b.sites.create("edge", "ams1");
});
afterAll(async () => {
  for (const r of running) await r.stop("SIGTERM");
  await stack?.close();
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const status = (client: Outpost, ref: string) => client.hosts.get(ref).then((r) => r.host.status);
const online = (client: Outpost, ref: string, proc: Running) =>
  eventually(async () => {
    if ((await status(client, ref)) !== "online") throw new Error(`${ref} not online:\n${proc.output()}`);
  });

describe.each(RUNTIMES)("an agent on %s in two clusters", (runtime) => {
  const dir = mkdtempSync(join(tmpdir(), `outpost-multi-${runtime}-`));
  const refA = `m-${runtime}.prod`;
  const refB = `m-${runtime}.edge`;
  let proc: Running;
  const agent = (args: string[]) => {
    const r = runAgent(runtime, [...args, "--state-dir", dir]);
    return r.exited.then((code) => ({ code, output: r.output() }));
  };
  const run = () => {
    proc = runAgent(runtime, ["run", "--state-dir", dir]);
    running.push(proc);
    return proc;
  };
  const enroll = async (
    client: Outpost,
    cluster: string,
    site: string,
    extra: string[],
    name = `m-${runtime}`,
  ) => {
    const { token } = await client.tokens.create({ cluster, site });
    return agent(["enroll", "--url", stack.url, "--token", token, "--name", name, ...extra]);
  };

  beforeAll(async () => {
    // The first enrollment is laid out exactly as a single-identity agent left it.
    expect((await enroll(a, "prod", "fra1", [])).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["host.key", "state.json"]);
    // A second one is refused without --add, before a token is spent.
    const { token, enrollment } = await b.tokens.create({ cluster: "edge", site: "ams1" });
    const refused = await agent(["enroll", "--url", stack.url, "--token", token, "--name", `m-${runtime}`]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain("pass --add");
    expect((await b.tokens.list()).tokens.find((t) => t.id === enrollment.id)?.state).toBe("active");
    const added = await enroll(b, "edge", "ams1", ["--add"]);
    expect(added.code, added.output).toBe(0);
  });

  it("serves both, each with its own key, and answers exec in both", async () => {
    const ids = readdirSync(join(dir, "identities"));
    expect(ids).toHaveLength(1);
    const keyA = readFileSync(join(dir, "host.key"), "utf8");
    const keyB = readFileSync(join(dir, "identities", ids[0]!, "host.key"), "utf8");
    expect(keyA).not.toBe(keyB);
    run();
    await online(a, refA, proc);
    await online(b, refB, proc);
    // Jobs and apps are per identity: each has its own ledger, where it was enrolled.
    expect(existsSync(join(dir, "ledger"))).toBe(true);
    expect(existsSync(join(dir, "identities", ids[0]!, "ledger"))).toBe(true);
    const inA = await a.exec(refA, ["echo", "in-a"]);
    expect(text(inA.stdout).trim()).toBe("in-a");
    const inB = await b.exec(refB, ["echo", "in-b"]);
    expect(text(inB.stdout).trim()).toBe("in-b");
    // Neither tenant sees the other's identity of this agent.
    await expect(a.hosts.get(refB)).rejects.toThrow();
    await expect(b.hosts.get(refA)).rejects.toThrow();
  });

  it("lists both in status, connected, with their control plane and since", async () => {
    const listed = await eventually(async () => {
      const r = await agent(["status", "--json"]);
      const items = (JSON.parse(r.output) as { items: { host: string; state: string }[] }).items;
      if (!items.every((i) => i.state === "connected")) throw new Error(r.output);
      return items;
    });
    expect(listed).toMatchObject([
      { cluster: "prod", host: refA, url: stack.url, state: "connected", since: expect.any(String) },
      { cluster: "edge", host: refB, url: stack.url, state: "connected", since: expect.any(String) },
    ]);
    const table = await agent(["status"]);
    expect(table.code).toBe(0);
    expect(table.output).toMatch(new RegExp(`prod\\s+${refA.replace(".", "\\.")}\\s+\\S+\\s+connected`));
    expect(table.output).toMatch(new RegExp(`edge\\s+${refB.replace(".", "\\.")}\\s+\\S+\\s+connected`));
  });

  it("leaves one on SIGHUP; the other keeps working, and after a restart too", async () => {
    const unknown = await agent(["leave", "nowhere"]);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain("no identity nowhere");
    const left = await agent(["leave", "edge"]);
    expect(left.code, left.output).toBe(0);
    expect(left.output).toContain(`left ${refB}`);
    expect(readdirSync(join(dir, "identities"))).toEqual([]);
    proc.child.kill("SIGHUP");
    await eventually(async () => {
      if ((await status(b, refB)) === "online") throw new Error("still online");
    });
    expect(text((await a.exec(refA, ["echo", "still"])).stdout).trim()).toBe("still");
    await proc.stop("SIGTERM");
    run();
    await online(a, refA, proc);
    expect(text((await a.exec(refA, ["echo", "again"])).stdout).trim()).toBe("again");
    const r = await agent(["status", "--json"]);
    expect((JSON.parse(r.output) as { items: { host: string }[] }).items.map((i) => i.host)).toEqual([refA]);
    await proc.stop("SIGTERM");
  });

  it("refuses, for one identity only, a control plane other than the one it pinned", async () => {
    // Identity B now pins another control plane's key: this control plane answering for it is, to
    // B, a hostile one. B refuses it and stops; A, with its own pinned key, keeps serving.
    const refB2 = `m2-${runtime}.edge`;
    expect((await enroll(b, "edge", "ams1", ["--add"], `m2-${runtime}`)).code).toBe(0);
    const id = readdirSync(join(dir, "identities")).find(
      (d) =>
        JSON.parse(readFileSync(join(dir, "identities", d, "state.json"), "utf8")).name === `m2-${runtime}`,
    );
    const statePath = join(dir, "identities", id!, "state.json");
    const state = JSON.parse(readFileSync(statePath, "utf8"));
    state.controlPlaneKey = formatControlPlaneKey((await generateKeyPair()).publicKey);
    writeFileSync(statePath, JSON.stringify(state));
    run();
    await online(a, refA, proc);
    await proc.waitFor(/m2-\w+\.edge: stopped serving it: .*key/, 15_000);
    expect(await status(b, refB2)).not.toBe("online");
    expect(text((await a.exec(refA, ["echo", "unharmed"])).stdout).trim()).toBe("unharmed");
    const r = await agent(["status", "--json"]);
    const items = (JSON.parse(r.output) as { items: { host: string; state: string; error?: string }[] })
      .items;
    expect(items.find((i) => i.host === refA)?.state).toBe("connected");
    expect(items.find((i) => i.host === refB2)).toMatchObject({
      state: "disconnected",
      error: expect.any(String),
    });
    await proc.stop("SIGTERM");
  });
});
