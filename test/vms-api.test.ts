// The VM routes (worker/routes/vms.ts) against a real control plane (workerd, libSQL, Miniflare's R2),
// with the host's agent played by the raw protocol adversary (harness/raw-agent.ts): it says in its
// hello what the host has (CPUs, memory, drivers), receives the workloads frames the routes push, and
// reports VM status as an agent would, or as a hostile one would. Agents and QEMU for real are in
// test/vms.test.ts.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { _sealPayload } from "../schema/protocol/envelope.ts";
import {
  type CborValue,
  CloseCode,
  encodeCbor,
  type VmRunSpec,
  type Workload,
  type WorkloadsFrame,
} from "../schema/protocol/index.ts";
import { type Outpost, pushVmImage } from "../sdk/index.ts";
import { eventually } from "./harness/agent.ts";
import { makeTree } from "./harness/artifacts.ts";
import { runCli } from "./harness/cli.ts";
import { enrollIdentity, FACTS, type Identity, RawAgent } from "./harness/raw-agent.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let a: { id: string; token: string; client: Outpost };
let b: { id: string; token: string; client: Outpost };
let viewer: string;
let host: Identity;
let agent: RawAgent;
let other: RawAgent;
let sha256: string;
/** The workload id of the VM `api` on devhost. */
let apiId: string;

const MiB = 2 ** 20;
const DRIVERS = [
  { name: "qemu", available: true, accel: "tcg", version: "7.2.15" },
  { name: "firecracker", available: false, reason: "firecracker is not on PATH" },
];

/** A raw agent whose hello says the host has 2 CPUs, 1 GiB and QEMU (TCG). */
async function connect(id: Identity): Promise<RawAgent> {
  const raw = await RawAgent.connect(stack.url, id);
  raw.send(
    await raw.seal({
      ...raw.helloFrame(),
      facts: { ...FACTS, cpus: 2, memory: 1024 * MiB, drivers: DRIVERS },
    } as never),
  );
  expect((await raw.receive()).t).toBe("ready");
  raw.keepAlive();
  return raw;
}

/** The next workloads frame that holds the VM `name` (skipping configs and older frames). */
async function pushed(r: RawAgent, name: string, ok: (w: Workload<VmRunSpec>) => boolean = () => true) {
  for (;;) {
    const f = (await r.receiveFrame("workloads")) as WorkloadsFrame;
    const w = f.workloads.find((x) => x.name === name) as Workload<VmRunSpec> | undefined;
    if (w && ok(w)) return w;
  }
}

const api = (token: string, method: string, path: string, body?: object) =>
  raw(stack, method, path, { token, ...(body ? { body } : {}) });

beforeAll(async () => {
  stack = await startStack();
  a = await stack.tenantInProd("vms-a");
  b = await stack.tenantInProd("vms-b");
  viewer = (await a.client.keys.create({ name: "watcher", role: "viewer" })).token;
  const dir = makeTree({ vmlinuz: randomBytes(4096) });
  sha256 = (await pushVmImage(a.client, "tiny", { kernel: join(dir, "vmlinuz"), cmdline: "console=ttyS0" }))
    .upload.sha256;
  host = await enrollIdentity(stack.url, a.client, "vmhost");
  agent = await connect(host);
  await a.client.clusters.create("dev");
  await a.client.sites.create("dev", "ams1");
  other = await connect(
    await enrollIdentity(stack.url, a.client, "devhost", { cluster: "dev", site: "ams1" }),
  );
}, 120_000);

afterAll(async () => {
  agent?.ws.close(1000);
  other?.ws.close(1000);
  await stack?.close();
});

describe("vm create", () => {
  let id: string;

  it("creates a VM, pushes it to its host's agent as a vm workload and audits it", async () => {
    const userData = Buffer.from("#cloud-config\nhostname: web\n").toString("base64");
    const res = await api(a.token, "POST", "/v1/vms", {
      host: "vmhost.prod",
      name: "web",
      image: "tiny",
      memory: 256,
      ports: [8080],
      userData,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.vm).toMatchObject({
      name: "web",
      host: "vmhost.prod",
      image: "tiny",
      imageSha256: sha256,
      cpus: 1,
      memory: 256,
      ports: [8080],
      services: ["web-8080"],
      desired: "running",
      state: "created",
      userData: true,
    });
    const w = await pushed(agent, "web");
    id = w.id;
    expect(w).toMatchObject({ kind: "vm", desired: "running", generation: 1, actions: [] });
    expect(w.spec).toMatchObject({
      kind: "vm",
      image: "tiny",
      cmdline: "console=ttyS0",
      cpus: 1,
      memory: 256,
    });
    expect(w.spec.ports).toEqual([8080]);
    expect(new TextDecoder().decode(w.spec.userData)).toBe("#cloud-config\nhostname: web\n");
    expect(Buffer.from(w.artifact.sha256).toString("hex")).toBe(sha256);
    const audit = await a.client.audit({ action: "vm.create" } as never);
    expect(JSON.stringify(audit)).toContain('"vm":"web"');
  });

  it("refuses a name taken in the cluster, an unknown image and hostile names, storing nothing", async () => {
    const taken = await api(a.token, "POST", "/v1/vms", { host: "vmhost.prod", name: "web", image: "tiny" });
    expect(taken.status).toBe(409);
    expect(taken.body.error?.message).toMatch(/cluster 'prod' has a VM named 'web' already/);
    const unknown = await api(a.token, "POST", "/v1/vms", { host: "vmhost.prod", name: "x", image: "nope" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.message).toMatch(/VM image 'nope'.*push it/);
    for (const [field, value] of [
      ["image", "../../etc/passwd"],
      ["name", "../../escape"],
      ["name", "a/b"],
      ["name", "Web"],
      ["name", ".hidden"],
      ["name", "a..b"],
      // Service names, but not DNS labels: no hostname for the guest, no console (host-streams.ts).
      ["name", "web.v2"],
      ["name", "db_1"],
      ["name", "web-"],
    ] as const) {
      const res = await api(a.token, "POST", "/v1/vms", {
        host: "vmhost.prod",
        name: "x",
        image: "tiny",
        [field]: value,
      });
      expect(res.status, `${field}=${value}`).toBe(400);
      expect(res.body.error?.message).toMatch(new RegExp(`^${field}: must (be|not hold)`));
    }
    const list = await api(a.token, "GET", "/v1/vms");
    expect((list.body.items as { name: string }[]).map((v) => v.name)).toEqual(["web"]);
  });

  it("refuses a VM larger than what the host has left, saying what is left", async () => {
    const cpus = await api(a.token, "POST", "/v1/vms", {
      host: "vmhost.prod",
      name: "big",
      image: "tiny",
      cpus: 2,
    });
    expect(cpus.status).toBe(409);
    expect(cpus.body.error?.code).toBe("insufficient_capacity");
    expect(cpus.body.error?.message).toMatch(/vmhost\.prod has 1 CPU\(s\) and 768 MiB of memory left/);
    const mem = await api(a.token, "POST", "/v1/vms", {
      host: "vmhost.prod",
      name: "big",
      image: "tiny",
      memory: 800,
    });
    expect(mem.status).toBe(409);
    expect(mem.body.error?.message).toMatch(/768 MiB of memory left .*this VM asks 1 and 800 MiB/);
  });

  it("refuses a driver the host lacks, naming what it offers", async () => {
    const res = await api(a.token, "POST", "/v1/vms", {
      host: "vmhost.prod",
      name: "fc",
      image: "tiny",
      driver: "firecracker",
    });
    expect(res.status).toBe(409);
    expect(res.body.error?.message).toBe(
      "vmhost.prod cannot run firecracker (firecracker is not on PATH); it offers: qemu (tcg)",
    );
    const bad = await api(a.token, "POST", "/v1/vms", {
      host: "vmhost.prod",
      name: "fc",
      image: "tiny",
      driver: "bhyve",
    });
    expect(bad.status).toBe(400);
  });

  it("refuses a port whose service the host has already", async () => {
    await a.client.services.add("vmhost.prod", "db-5432", "127.0.0.1:5432");
    const res = await api(a.token, "POST", "/v1/vms", {
      host: "vmhost.prod",
      name: "db",
      image: "tiny",
      memory: 64,
      ports: [5432],
    });
    expect(res.status).toBe(409);
    expect(res.body.error?.message).toMatch(
      /has a service 'db-5432' already \(a service added with 'outpost service add'\)/,
    );
    const twice = await api(a.token, "POST", "/v1/vms", {
      host: "vmhost.prod",
      name: "db",
      image: "tiny",
      ports: [1, 1],
    });
    expect(twice.status).toBe(400);
  });

  it("lets a viewer read but not change", async () => {
    expect((await api(viewer, "GET", "/v1/vms/web")).status).toBe(200);
    const res = await api(viewer, "POST", "/v1/vms", { host: "vmhost.prod", name: "v", image: "tiny" });
    expect(res.status).toBe(403);
    expect((await api(viewer, "POST", "/v1/vms/web/stop", {})).status).toBe(403);
    expect((await api(viewer, "DELETE", "/v1/vms/web")).status).toBe(403);
  });

  it("answers another tenant as if the VM did not exist", async () => {
    for (const [method, path, body] of [
      ["GET", "/v1/vms/web", undefined],
      ["POST", "/v1/vms/web/stop", {}],
      ["POST", "/v1/vms/web/snapshots", {}],
      ["POST", "/v1/vms/web/restore", { snapshot: "s1" }],
      ["DELETE", "/v1/vms/web", undefined],
    ] as const) {
      const res = await api(b.token, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error?.message).toBe("VM 'web' not found");
    }
    expect((await api(b.token, "GET", "/v1/vms")).body.items).toEqual([]);
    // Nor can it put a VM on a's host, or use a's image.
    const onA = await api(b.token, "POST", "/v1/vms", { host: "vmhost.prod", name: "mine", image: "tiny" });
    expect(onA.status).toBe(404);
    expect(onA.body.error?.message).toMatch(/host 'vmhost\.prod' not found/);
    expect((await api(a.token, "GET", "/v1/vms/web")).body.vm).toMatchObject({ desired: "running" });
  });

  it("lists by host and cluster in pages, and names the clusters of an ambiguous name", async () => {
    expect(
      (await api(a.token, "POST", "/v1/vms", { host: "devhost.dev", name: "web", image: "tiny", memory: 64 }))
        .status,
    ).toBe(201);
    expect(
      (await api(a.token, "POST", "/v1/vms", { host: "devhost.dev", name: "api", image: "tiny", memory: 64 }))
        .status,
    ).toBe(201);
    const ambiguous = await api(a.token, "GET", "/v1/vms/web");
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error?.message).toMatch(
      /in clusters (prod, dev|dev, prod): name one with --cluster/,
    );
    expect((await api(a.token, "GET", "/v1/vms/web?cluster=dev")).body.vm).toMatchObject({
      host: "devhost.dev",
    });
    const dev = await api(a.token, "GET", "/v1/vms?cluster=dev");
    expect((dev.body.items as { name: string }[]).map((v) => v.name)).toEqual(["api", "web"]);
    const byHost = await api(a.token, "GET", "/v1/vms?host=vmhost.prod");
    expect((byHost.body.items as { name: string }[]).map((v) => v.name)).toEqual(["web"]);
    const first = await api(a.token, "GET", "/v1/vms?limit=2");
    expect(first.body.items).toHaveLength(2);
    const rest = await api(a.token, "GET", `/v1/vms?limit=2&cursor=${first.body.nextCursor}`);
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();
    apiId = (await pushed(other, "api")).id;
  });

  it("stops with a timeout, starts, and sends snapshot and restore as one-shot actions", async () => {
    const stop = await api(a.token, "POST", "/v1/vms/web/stop?cluster=prod", { timeoutMs: 5000 });
    expect(stop.status, JSON.stringify(stop.body)).toBe(200);
    const stopped = await pushed(agent, "web", (w) => w.desired === "stopped");
    expect(stopped).toMatchObject({ generation: 2, spec: { stopTimeout: 5000 } });
    const snap = await api(a.token, "POST", "/v1/vms/web/snapshots?cluster=prod", { name: "s1" });
    expect(snap.status).toBe(409);
    expect(snap.body.error?.message).toMatch(/it is stopped; start it first/);
    expect((await api(a.token, "POST", "/v1/vms/web/start?cluster=prod", {})).status).toBe(200);
    await pushed(agent, "web", (w) => w.desired === "running" && w.generation === 3);
    const ok = await api(a.token, "POST", "/v1/vms/web/snapshots?cluster=prod", { name: "s1" });
    expect(ok.status).toBe(201);
    const action = ok.body.action as { id: string; op: string; arg: string };
    expect(action).toMatchObject({ op: "snapshot", arg: "s1" });
    const w = await pushed(agent, "web", (x) => x.actions.some((y) => y.id === action.id));
    expect(w.actions).toEqual([action]);
    expect((await api(a.token, "POST", "/v1/vms/web/restore?cluster=prod", { snapshot: "s9" })).status).toBe(
      404,
    );
    const hostile = await api(a.token, "POST", "/v1/vms/web/snapshots?cluster=prod", { name: "../../x" });
    expect(hostile.status).toBe(400);

    // The agent reports: started, the snapshot taken; the action leaves the pending list.
    await agent.sendFrame({
      t: "workload.status",
      id,
      generation: 3,
      instances: [],
      message: "started",
      actions: [{ id: action.id, ok: true }],
      vm: {
        state: "started",
        driver: "qemu",
        pid: 4242,
        ports: [{ guest: 8080, host: 40_001 }],
        snapshots: [{ name: "s1", at: Date.now() }],
        since: Date.now(),
      },
    } as never);
    const vm = await eventually(async () => {
      const v = (
        await a.client.api.v1.vms[":name"]
          .$get({ param: { name: "web" }, query: { cluster: "prod" } })
          .then((r) => r.json())
      ).vm;
      if (v.state !== "started") throw new Error(`state ${v.state}`);
      return v;
    });
    expect(vm).toMatchObject({ state: "started", pid: 4242, driver: "qemu", pendingActions: [] });
    expect(vm.actionResults).toEqual([{ id: action.id, ok: true }]);
    expect(vm.snapshots.map((s) => s.name)).toEqual(["s1"]);
    expect((await api(a.token, "POST", "/v1/vms/web/restore?cluster=prod", { snapshot: "s1" })).status).toBe(
      200,
    );
  });
});

describe("a hostile agent", () => {
  it("cannot report for a VM of another host: the status is ignored", async () => {
    const dev = (await api(a.token, "GET", "/v1/vms/api")).body.vm as { state: string };
    expect(dev.state).toBe("created");
    // vmhost's agent names devhost's VM id.
    await agent.sendFrame({
      t: "workload.status",
      id: apiId,
      generation: 99,
      instances: [],
      message: "owned",
      actions: [],
      vm: { state: "destroyed", ports: [], snapshots: [], since: 0 },
    } as never);
    await agent.sendFrame({ t: "ping", time: Date.now() } as never);
    await agent.receiveFrame("pong");
    const after = (await api(a.token, "GET", "/v1/vms/api")).body.vm as Record<string, unknown>;
    expect(after).toMatchObject({ state: "created", message: null, observedGeneration: 0 });
  });

  it("is closed (4400) for a status with an escape sequence, and nothing of it is stored", async () => {
    const id = await enrollIdentity(stack.url, a.client, "victim");
    const victim = await connect(id);
    expect(
      (await api(a.token, "POST", "/v1/vms", { host: "victim.prod", name: "vv", image: "tiny", memory: 64 }))
        .status,
    ).toBe(201);
    const w = await pushed(victim, "vv");
    const vm = (state: string) =>
      new Map<string, CborValue>([
        ["state", state],
        ["ports", []],
        ["snapshots", []],
        ["since", 0],
      ]);
    const status = (message: string, v: Map<string, CborValue>) =>
      new Map<string, CborValue>([
        ["t", "workload.status"],
        ["seq", 2],
        ["id", w.id],
        ["generation", 1],
        ["instances", []],
        ["message", message],
        ["actions", []],
        ["vm", v],
      ]);
    // Written as CBOR by hand: the encoder would have replaced the escape before sending.
    victim.send(
      await _sealPayload(encodeCbor(status("\u001b]52;c;cHduZWQ=\u0007", vm("failed"))), id.signer, {
        connectionId: victim.conn,
        direction: "agent>cp",
      }),
    );
    expect((await victim.closed).code).toBe(CloseCode.MALFORMED);
    const again = await connect(id);
    again.send(
      await _sealPayload(encodeCbor(status("fine", vm("owned"))), id.signer, {
        connectionId: again.conn,
        direction: "agent>cp",
      }),
    );
    expect((await again.closed).code).toBe(CloseCode.MALFORMED);
    const after = (await api(a.token, "GET", "/v1/vms/vv")).body.vm as Record<string, unknown>;
    expect(after).toMatchObject({ state: "created", message: null });
  });
});

describe("vm rm", () => {
  it("asks the agent to destroy it; the row goes once the agent says destroyed, and the name is free", async () => {
    const res = await api(a.token, "DELETE", "/v1/vms/api");
    expect(res.status).toBe(200);
    const w = await pushed(other, "api", (x) => x.desired === "absent");
    expect((await api(a.token, "GET", "/v1/vms/api")).body.vm).toMatchObject({ desired: "absent" });
    await other.sendFrame({
      t: "workload.status",
      id: w.id,
      generation: w.generation,
      instances: [],
      actions: [],
      vm: { state: "destroyed", ports: [], snapshots: [], since: Date.now() },
    } as never);
    await eventually(async () => {
      if ((await api(a.token, "GET", "/v1/vms/api")).status !== 404) throw new Error("still there");
    });
    const cli = await runCli(["vm", "ls", "--json"], { OUTPOST_URL: stack.url, OUTPOST_TOKEN: a.token });
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).items.map((v: { name: string }) => v.name)).not.toContain("api");
  });
});
