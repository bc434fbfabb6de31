// microVMs end to end (issue 14): the real Worker in workerd, Miniflare's R2, a real agent under Bun,
// real QEMU (TCG) booting the example image (scripts/vm-image, built once), the CLI as a real process.
// One VM is booted and reused across the file: create → started → HTTP through `outpost forward` to
// its port (and its NoCloud user data read back from inside the guest) → agent SIGKILL, re-attached
// with the same QEMU → pause/resume → snapshot/restore with the guest's counter → stop → start → rm;
// and the refusals a real host gives: a driver it lacks, more than it has left, a port already a
// service, QEMU exiting at boot (its stderr tail in `vm show`). Then a short run on a Deno agent.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive } from "../agent/vm/process.ts";
import { buildVmImage } from "../scripts/vm-image/build.ts";
import { Outpost } from "../sdk/index.ts";
import { eventually, runAgent, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { type Running, start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const CLI = fileURLToPath(new URL("../sdk/bin/outpost.js", import.meta.url));

let stack: Stack;
let env: Record<string, string>;
let agent: TestAgent;
let deno: TestAgent | undefined;
let fwd: { proc: Running; port: number } | undefined;
const HOST = "vmhost.prod";
const cli = (...args: string[]) => runCli(["vm", ...args], env);

function get(port: number, path = "/", timeout = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** `outpost forward <host>:<service>`, running; its local port. */
async function forward(service: string): Promise<{ proc: Running; port: number }> {
  const proc = start(process.execPath, [CLI, "forward", `${HOST}:${service}`, "--listen", "127.0.0.1:0"], {
    env: { ...process.env, ...env },
  });
  const out = await proc.waitFor(/forwarding 127\.0\.0\.1:(\d+)/, 20_000);
  return { proc, port: Number(/forwarding 127\.0\.0\.1:(\d+)/.exec(out)![1]) };
}

const counter = async (port: number) => {
  const n = Number((await get(port, "/counter")).body.trim());
  if (!(n > 0)) throw new Error("no counter yet");
  return n;
};

async function show(name: string) {
  const res = await cli("show", name, "--json");
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout).vm;
}

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("vms");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token };
  agent = await startAgent(t.client, {
    runtime: "bun",
    name: "vmhost",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
  });
  const image = buildVmImage(mkdtempSync(join(tmpdir(), "outpost-vm-image-")));
  // biome-ignore format: the push command as a user types it
  const push = await cli("image", "push", "tiny", "--kernel", image.kernel, "--initrd", image.initrd,
    "--rootfs", image.rootfs, "--cmdline", image.cmdline);
  expect(push.code, push.stderr).toBe(0);
  const junk = join(mkdtempSync(join(tmpdir(), "outpost-broken-")), "vmlinuz");
  writeFileSync(junk, "this is not a kernel\n".repeat(100));
  expect((await cli("image", "push", "broken", "--kernel", junk)).code).toBe(0);
}, 180_000);

afterAll(async () => {
  if (process.env.OUTPOST_VM_DEBUG) {
    execFileSync("cp", ["-r", join(agent.stateDir, "vms"), process.env.OUTPOST_VM_DEBUG]);
    writeFileSync(join(process.env.OUTPOST_VM_DEBUG, "agent.log"), agent.process.output());
    writeFileSync(join(process.env.OUTPOST_VM_DEBUG, "forward.log"), fwd?.proc.output() ?? "");
  }
  await fwd?.proc.stop();
  await agent?.stop();
  await deno?.stop();
  // VMs outlive their agent on purpose: take any left down by their pid files.
  for (const [a, name] of [
    [agent, "web"],
    [agent, "bad"],
    [deno, "dweb"],
  ] as const) {
    const file = join(a?.stateDir ?? "", `vms/${name}/qemu.pid`);
    const pid = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : 0;
    if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
  }
  await stack?.close();
}, 60_000);

describe("a VM on a real host", () => {
  let pid: number;

  it("is created from the image and reaches started; its directory holds driver, overlay disk and seed", async () => {
    const userData = join(mkdtempSync(join(tmpdir(), "outpost-ud-")), "user-data");
    writeFileSync(userData, "#cloud-config\nhostname: web\n");
    // biome-ignore format: the create command as a user types it
    const res = await cli("create", HOST, "web", "--image", "tiny", "--memory", "256M", "--port", "8080",
      "--user-data", userData, "--json");
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const { vm } = JSON.parse(res.stdout);
    expect(vm).toMatchObject({
      name: "web",
      host: HOST,
      state: "started",
      driver: "qemu",
      services: ["web-8080"],
    });
    pid = vm.pid;
    expect(alive(pid)).toBe(true);
    const dir = join(agent.stateDir, "vms/web");
    expect(readFileSync(join(dir, "driver"), "utf8")).toBe("qemu\n");
    const info = JSON.parse(
      execFileSync("qemu-img", ["info", "--output=json", "-U", join(dir, "disk.qcow2")], {
        encoding: "utf8",
      }),
    );
    expect(info.format).toBe("qcow2");
    expect(info["backing-filename"]).toMatch(/vm-images\/[0-9a-f]{64}\/rootfs$/);
    expect(existsSync(join(dir, "seed.img"))).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("outpost.name=web");
  }, 150_000);

  it("serves HTTP through outpost forward to its port, with its user data inside", async () => {
    fwd = await forward("web-8080");
    const page = await eventually(
      async () => {
        const r = await get(fwd!.port);
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        return r.body;
      },
      120_000,
      500,
    );
    expect(page).toBe("hello from web\n");
    expect((await get(fwd.port, "/user-data")).body).toBe("#cloud-config\nhostname: web\n");
    const ls = await cli("ls");
    expect(ls.stdout).toMatch(/^NAME\s+HOST\s+IMAGE\s+STATE\s+CPUS\s+MEMORY\s+PORTS\s+CREATED/);
    expect(ls.stdout).toMatch(/web\s+vmhost\.prod\s+tiny\s+started\s+1\s+256M\s+8080\s+\d{4}-\d\d-\d\dT/);
  }, 150_000);

  it("keeps running when the agent is SIGKILLed; the next agent re-attaches to the same QEMU", async () => {
    await agent.process.stop("SIGKILL");
    expect(alive(pid)).toBe(true);
    agent.process = runAgent("bun", ["run", "--state-dir", agent.stateDir]);
    await agent.process.waitFor(/vm web: re-attached \(pid (\d+)\)/, 60_000);
    const vm = await eventually(
      async () => {
        const v = await show("web");
        if (v.observedAt === null || v.state !== "started") throw new Error(v.state);
        return v;
      },
      30_000,
      500,
    );
    expect(vm.pid).toBe(pid);
    const page = await eventually(async () => (await get(fwd!.port)).body, 30_000, 500);
    expect(page).toBe("hello from web\n");
  }, 120_000);

  it("is started again by the next agent when the host rebooted (the VM is gone, desired started)", async () => {
    await agent.process.stop("SIGKILL");
    process.kill(pid, "SIGKILL"); // what a reboot does to it
    await eventually(async () => {
      if (alive(pid)) throw new Error("still alive");
    });
    agent.process = runAgent("bun", ["run", "--state-dir", agent.stateDir]);
    await agent.process.waitFor(/vm web: was not running when the agent started; starting it again/, 60_000);
    const vm = await eventually(
      async () => {
        const v = await show("web");
        if (v.state !== "started" || v.pid === pid) throw new Error(`${v.state} ${v.pid}`);
        return v;
      },
      60_000,
      500,
    );
    pid = vm.pid;
    const page = await eventually(async () => (await get(fwd!.port)).body, 120_000, 500);
    expect(page).toBe("hello from web\n");
  }, 240_000);

  it("pauses (the guest answers nothing) and resumes", async () => {
    const paused = await cli("pause", "web");
    expect(paused.code, paused.stderr).toBe(0);
    expect((await show("web")).state).toBe("paused");
    await expect(get(fwd!.port, "/counter", 1500)).rejects.toThrow();
    expect((await cli("resume", "web")).code).toBe(0);
    expect((await show("web")).state).toBe("started");
    await eventually(() => counter(fwd!.port), 20_000, 300);
  }, 60_000);

  it("snapshots and restores: the guest's counter continues from the snapshot", async () => {
    await eventually(
      async () => {
        if ((await counter(fwd!.port)) < 3) throw new Error("counting");
      },
      30_000,
      300,
    );
    // Read before the snapshot: the snapshot holds this count or a later one. (A count read after the
    // command returns may already be past what the snapshot holds, and a restore goes back below it.)
    const beforeSnapshot = await eventually(() => counter(fwd!.port), 10_000, 200);
    const snap = await cli("snapshot", "web", "--name", "s1");
    expect(snap.code, snap.stderr).toBe(0);
    const atSnapshot = await eventually(() => counter(fwd!.port), 10_000, 200);
    await new Promise((r) => setTimeout(r, 4000));
    const later = await eventually(() => counter(fwd!.port), 10_000, 200);
    expect(later).toBeGreaterThan(atSnapshot + 1);
    const restored = await cli("restore", "web", "s1");
    expect(restored.code, restored.stderr).toBe(0);
    const after = await eventually(() => counter(fwd!.port), 20_000, 200);
    expect(after).toBeGreaterThanOrEqual(beforeSnapshot);
    expect(after).toBeLessThan(later);
    const ls = JSON.parse((await cli("snapshot", "ls", "web", "--json")).stdout);
    expect(ls.items.map((s: { name: string }) => s.name)).toEqual(["s1"]);
    expect((await cli("restore", "web", "nope")).code).toBe(1);
  }, 120_000);

  it("stops gracefully (the guest powers off), starts again, and removes a snapshot", async () => {
    const stop = await cli("stop", "web", "--timeout", "60s");
    expect(stop.code, stop.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
    const vm = await show("web");
    expect(vm).toMatchObject({ state: "stopped", message: "stopped: the guest powered off" });
    expect(readFileSync(join(agent.stateDir, "vms/web/console.log"), "utf8")).toContain(
      "OUTPOST-VM-POWEROFF",
    );
    const started = await cli("start", "web");
    expect(started.code, started.stderr).toBe(0);
    const waited = await cli("wait", "web", "--state", "started", "--timeout", "30s", "--json");
    expect(waited.code, waited.stderr).toBe(0);
    expect((await cli("wait", "web", "--state", "sleeping")).code).toBe(2);
    const again = await show("web");
    expect(again.state).toBe("started");
    expect(again.pid).not.toBe(pid);
    expect((await cli("snapshot", "rm", "web", "s1")).code).toBe(0);
    expect((await show("web")).snapshots).toEqual([]);
    const page = await eventually(async () => (await get(fwd!.port)).body, 120_000, 500);
    expect(page).toBe("hello from web\n");
  }, 240_000);
});

describe("what a real host refuses", () => {
  it("refuses a driver the host lacks, with what it offers", async () => {
    const res = await cli("create", HOST, "fc", "--image", "tiny", "--driver", "firecracker");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/vmhost\.prod cannot run firecracker \(.*\); it offers: qemu \((tcg|kvm)\)/);
  });

  it("refuses more CPUs than the host has left, saying what is left", async () => {
    const res = await cli("create", HOST, "huge", "--image", "tiny", "--cpus", "64");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/vmhost\.prod has \d+ CPU\(s\) and \d+ MiB of memory left/);
  });

  it("refuses a port whose service the host has, and a name taken", async () => {
    const taken = await cli("create", HOST, "web", "--image", "tiny");
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/has a VM named 'web' already/);
    await runCli(["service", "add", HOST, "db-5432", "127.0.0.1:5432"], env);
    const port = await cli("create", HOST, "db", "--image", "tiny", "--port", "5432");
    expect(port.code).toBe(1);
    expect(port.stderr).toMatch(/has a service 'db-5432' already/);
  });

  it("shows QEMU's own words when it exits at boot, and rm takes the failed VM away", async () => {
    const res = await cli("create", HOST, "bad", "--image", "broken", "--memory", "64M");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/VM bad failed: QEMU could not start bad: /);
    const vm = await show("bad");
    expect(vm.state).toBe("failed");
    expect(vm.message).toMatch(/^QEMU could not start bad: .*(kernel|PVH|linux)/i);
    const rm = await cli("rm", "bad");
    expect(rm.code, rm.stderr).toBe(0);
    expect((await cli("show", "bad")).code).toBe(1);
    expect(existsSync(join(agent.stateDir, "vms/bad"))).toBe(false);
  }, 60_000);

  it("removes the VM: its directory goes, the shared image stays, the name is free", async () => {
    const rm = await cli("rm", "web");
    expect(rm.code, rm.stderr).toBe(0);
    expect(existsSync(join(agent.stateDir, "vms/web"))).toBe(false);
    expect(existsSync(join(agent.stateDir, "vm-images"))).toBe(true);
    const ls = JSON.parse((await cli("ls", "--json")).stdout);
    expect(ls.items).toEqual([]);
  }, 60_000);
});

describe("a VM on a Deno agent", () => {
  it("is created, serves through outpost forward and is removed", async () => {
    const t = { client: new Outpost({ url: stack.url, token: env.OUTPOST_TOKEN! }) };
    deno = await startAgent(t.client, {
      runtime: "deno",
      name: "vmdeno",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
    });
    const res = await cli(
      "create",
      "vmdeno.prod",
      "dweb",
      "--image",
      "tiny",
      "--memory",
      "128M",
      "--port",
      "8080",
    );
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const proc = start(
      process.execPath,
      [CLI, "forward", "vmdeno.prod:dweb-8080", "--listen", "127.0.0.1:0"],
      {
        env: { ...process.env, ...env },
      },
    );
    try {
      const port = Number(
        /forwarding 127\.0\.0\.1:(\d+)/.exec(await proc.waitFor(/forwarding 127\.0\.0\.1:(\d+)/, 20_000))![1],
      );
      const page = await eventually(async () => (await get(port)).body, 120_000, 500);
      expect(page).toBe("hello from dweb\n");
    } finally {
      await proc.stop();
    }
    expect((await cli("rm", "dweb")).code).toBe(0);
    expect(existsSync(join(deno.stateDir, "vms/dweb"))).toBe(false);
  }, 180_000);
});
