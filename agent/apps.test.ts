// The app driver in real agents under Bun and Deno, against the fake control plane (it sends
// `workloads` frames and reads `workload.status` back; test/apps.test.ts runs the real one). Real
// processes: each release is a small HTTP server on the PORT the agent gives it.
import { mkdirSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRunSpec, Workload, WorkloadStatusFrame } from "../schema/protocol/index.ts";
import { FakeControlPlane, type FakeLink } from "../test/agent-harness/fake-control-plane.ts";
import { buildTestBundle, type Proc, RUNTIMES, start } from "../test/agent-harness/processes.ts";

let bundle: string;
beforeAll(async () => {
  bundle = await buildTestBundle();
}, 120_000);

const SERVER = `
const http = require("node:http");
const release = process.env.OUTPOST_RELEASE;
const broken = process.env.BROKEN === "1";
http.createServer((req, res) => {
  if (req.url === "/healthz") { res.writeHead(broken ? 500 : 200); res.end(broken ? "sick" : "ok"); return; }
  res.end("release " + release + " " + (process.env.GREETING ?? ""));
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on " + process.env.PORT));
process.on("SIGTERM", () => process.exit(0));
`;

function workload(
  release: number,
  generation: number,
  extra: Partial<Workload<AppRunSpec>> = {},
  broken = false,
): Workload<AppRunSpec> {
  return {
    id: "wl_0123456789abcdef",
    tenant: "ten_0123456789abcdef",
    kind: "app",
    name: "shop",
    generation,
    desired: "running",
    spec: {
      kind: "app",
      release,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal argv item outpost.toml spells
      cmd: ["${OUTPOST_RUNTIME}", "server.cjs"],
      env: { GREETING: "hi", ...(broken ? { BROKEN: "1" } : {}) },
      health: { http: "/healthz", interval: 100, timeout: 1000, grace: broken ? 1500 : 15_000 },
      restart: "always",
      stopSignal: "SIGTERM",
      stopTimeout: 3000,
      keep: 5,
      revertWindow: 0,
    },
    artifact: { sha256: new Uint8Array(32), size: 1 },
    env: [],
    actions: [],
    ...extra,
  };
}

/** Puts release `n` on disk, as an unpacked artifact would be. */
function placeRelease(stateDir: string, n: number): void {
  const dir = join(stateDir, "apps", "shop", "releases", String(n));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "server.cjs"), SERVER);
}

async function statusUntil(
  link: FakeLink,
  ok: (s: WorkloadStatusFrame) => boolean,
  ms = 30_000,
): Promise<WorkloadStatusFrame> {
  // The latest status is what the agent sees now: wait until it is what the test expects.
  const deadline = Date.now() + ms;
  for (;;) {
    const last = link.received.filter((f): f is WorkloadStatusFrame => f.t === "workload.status").at(-1);
    if (last && ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`no matching status; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET over a fresh connection (no pooled keep-alive: a port number may come back for another server). */
function text(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const live = (s: WorkloadStatusFrame) => s.instances.find((i) => i.release === s.live);

describe.each(RUNTIMES)("apps on a %s agent", (runtime) => {
  let cp: FakeControlPlane;
  let agent: Proc;
  let stateDir: string;
  let link: FakeLink;
  const pids: number[] = [];

  beforeAll(async () => {
    cp = await FakeControlPlane.start();
    stateDir = cp.stateDir();
    for (const n of [1, 2, 3]) placeRelease(stateDir, n);
    agent = start(runtime, bundle, ["run", "--state-dir", stateDir]);
    link = await cp.nextLink();
    await link.handshake();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop("SIGKILL");
    for (const pid of pids) if (alive(pid)) process.kill(-pid, "SIGKILL");
    await cp?.close();
  });

  it("starts a release on its own port, healthy, with its env", async () => {
    await link.send({ t: "workloads", workloads: [workload(1, 1)] });
    const s = await statusUntil(link, (x) => x.live === 1 && live(x)?.state === "healthy");
    const inst = live(s)!;
    pids.push(inst.pid!);
    const body = await text(`http://127.0.0.1:${inst.port}/`);
    expect(body).toBe("release 1 hi");
  }, 60_000);

  it("swaps to a new release and stops the old one", async () => {
    const before = live(await statusUntil(link, (x) => x.live === 1))!;
    await link.send({ t: "workloads", workloads: [workload(2, 2)] });
    const s = await statusUntil(
      link,
      (x) => x.live === 2 && x.instances.some((i) => i.release === 1 && i.state === "stopped"),
    );
    pids.push(live(s)!.pid!);
    expect(await (await fetch(`http://127.0.0.1:${live(s)!.port}/`)).text()).toBe("release 2 hi");
    expect(alive(before.pid!)).toBe(false);
  }, 60_000);

  it("refuses a release that fails its health check; the live one keeps serving", async () => {
    await link.send({ t: "workloads", workloads: [workload(3, 3, {}, true)] });
    const s = await statusUntil(
      link,
      (x) => x.generation === 3 && /failed its health check/.test(x.message ?? ""),
    );
    expect(s.live).toBe(2);
    expect(s.instances.find((i) => i.release === 3)).toMatchObject({ state: "failed" });
    expect(s.instances.find((i) => i.release === 3)?.health).toMatch(/500 sick/);
    expect(await (await fetch(`http://127.0.0.1:${live(s)!.port}/`)).text()).toBe("release 2 hi");
  }, 60_000);

  it("serves the listen address and moves it to the new release at once", async () => {
    const { createServer } = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const listen = `127.0.0.1:${port}`;
    const withListen = (release: number, generation: number) => {
      const w = workload(release, generation);
      return { ...w, spec: { ...w.spec, listen } };
    };
    await link.send({ t: "workloads", workloads: [withListen(1, 10)] });
    await statusUntil(link, (x) => x.generation === 10 && x.live === 1 && live(x)?.state === "healthy");
    expect(await text(`http://${listen}/`)).toBe("release 1 hi");
    await link.send({ t: "workloads", workloads: [withListen(2, 11)] });
    await statusUntil(link, (x) => x.generation === 11 && x.live === 2 && live(x)?.state === "healthy");
    expect(await text(`http://${listen}/`)).toBe("release 2 hi");
  }, 60_000);

  it("keeps the app running through an agent SIGKILL and re-adopts it without a restart", async () => {
    const before = live(await statusUntil(link, (x) => x.live === 2))!;
    await agent.stop("SIGKILL");
    expect(alive(before.pid!)).toBe(true);
    expect(await text(`http://127.0.0.1:${before.port}/`)).toBe("release 2 hi");
    agent = start(runtime, bundle, ["run", "--state-dir", stateDir]);
    link = await cp.nextLink();
    await link.handshake();
    const s = await statusUntil(link, (x) => x.live === 2);
    expect(live(s)).toMatchObject({ pid: before.pid, port: before.port, restarts: 0, state: "healthy" });
  }, 60_000);

  it("applies an action once, however often it is delivered", async () => {
    const before = live(await statusUntil(link, (x) => x.live === 2))!;
    const w = workload(2, 4, { actions: [{ id: "act_0123456789abcdef", op: "restart" }] });
    await link.send({ t: "workloads", workloads: [w] });
    const s = await statusUntil(link, (x) => x.actions.some((a) => a.id === "act_0123456789abcdef"));
    expect(s.actions[0]).toEqual({ id: "act_0123456789abcdef", ok: true });
    const after = live(s)!;
    pids.push(after.pid!);
    expect(after.pid).not.toBe(before.pid);
    await link.send({ t: "workloads", workloads: [w] }); // redelivered
    await link.send({ t: "workloads", workloads: [{ ...w, generation: 5 }] });
    const again = await statusUntil(link, (x) => x.generation === 5);
    expect(live(again)!.pid).toBe(after.pid);
  }, 60_000);

  it("restarts a release that dies, by its policy", async () => {
    const before = live(await statusUntil(link, (x) => x.live === 2))!;
    process.kill(before.pid!, "SIGKILL");
    const s = await statusUntil(
      link,
      (x) => (live(x)?.restarts ?? 0) >= 1 && live(x)!.pid !== before.pid && live(x)!.state === "healthy",
    );
    pids.push(live(s)!.pid!);
    expect(await (await fetch(`http://127.0.0.1:${live(s)!.port}/`)).text()).toBe("release 2 hi");
  }, 60_000);

  it("removes an app that is desired absent", async () => {
    const before = live(await statusUntil(link, (x) => x.live === 2 && (live(x)?.restarts ?? 0) >= 1))!;
    await link.send({ t: "workloads", workloads: [{ ...workload(2, 6), desired: "absent" }] });
    await statusUntil(link, (x) => x.generation === 6 && x.message === "removed");
    expect(alive(before.pid!)).toBe(false);
  }, 60_000);

  it("reverts to the last healthy release when the new one dies within its revert window", async () => {
    for (const n of [1, 2]) placeRelease(stateDir, n);
    await link.send({ t: "workloads", workloads: [workload(1, 20)] });
    await statusUntil(link, (x) => x.generation === 20 && x.live === 1 && live(x)?.state === "healthy");
    const w = workload(2, 21);
    await link.send({
      t: "workloads",
      workloads: [{ ...w, spec: { ...w.spec, revertWindow: 60_000, revertTo: 1 } }],
    });
    const s = await statusUntil(
      link,
      (x) => x.generation === 21 && x.live === 2 && live(x)?.state === "healthy",
    );
    pids.push(live(s)!.pid!);
    process.kill(live(s)!.pid!, "SIGKILL");
    const back = await statusUntil(link, (x) => x.live === 1 && /reverted to 1/.test(x.message ?? ""));
    pids.push(live(back)!.pid!);
    expect(await (await fetch(`http://127.0.0.1:${live(back)!.port}/`)).text()).toBe("release 1 hi");
  }, 60_000);

  it("stops an old release that a killed agent had switched away from but not yet stopped", async () => {
    placeRelease(stateDir, 3);
    // A long pause between the switch and the old release's stop, so the kill lands inside it.
    await agent.stop("SIGKILL");
    agent = start(runtime, bundle, ["run", "--state-dir", stateDir], { OUTPOST_SWITCH_SETTLE_MS: "5000" });
    link = await cp.nextLink();
    await link.handshake();
    const old = live(await statusUntil(link, (x) => x.live === 1))!;
    await link.send({ t: "workloads", workloads: [workload(3, 30)] });
    const s = await statusUntil(
      link,
      (x) => x.generation === 30 && x.live === 3 && live(x)?.state === "healthy",
    );
    await agent.stop("SIGKILL");
    pids.push(old.pid!, live(s)!.pid!);
    expect(alive(old.pid!)).toBe(true); // left running: the case under test
    agent = start(runtime, bundle, ["run", "--state-dir", stateDir]);
    link = await cp.nextLink();
    await link.handshake();
    const deadline = Date.now() + 20_000;
    while (alive(old.pid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(old.pid!)).toBe(false);
    expect(live(await statusUntil(link, (x) => x.live === 3))).toMatchObject({
      pid: live(s)!.pid,
      restarts: 0,
    });
  }, 60_000);
});
