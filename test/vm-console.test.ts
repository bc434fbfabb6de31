// A VM's serial console end to end, with VMs made the way a user makes them: the example image
// (scripts/vm-image) pushed once, `vm create` on each agent's host, stopped and started through the
// API; real QEMU (TCG) run by the agent's VM lifecycle (agent/vm/vms.ts), real agents on Bun and Deno
// serving its console, the real control plane relaying it, and the SDK and the real CLI (on a real
// pseudo-terminal) on the other end.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive } from "../agent/vm/process.ts";
import { buildVmImage } from "../scripts/vm-image/build.ts";
import { createVm, type Outpost, pushVmImage, removeVm, vmAction, waitForVm } from "../sdk/index.ts";
import type { ConsoleStream } from "../sdk/streams/console.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN, runCli } from "./harness/cli.ts";
import { type Stack, startStack } from "./harness/stack.ts";
import { RawStream } from "./harness/stream-client.ts";

const DRIVER = fileURLToPath(new URL("./harness/pty-driver.py", import.meta.url));

let stack: Stack;
let client: Outpost;
let token: string;
let viewer: Outpost;
let viewerToken: string;
let other: Outpost;
let bun: TestAgent;
let deno: TestAgent;

const vmDir = (agent: TestAgent, name: string) => join(agent.stateDir, "vms", name);

/** `vm create <host> <name> --image tiny`, until it started. */
async function createAndStart(agent: TestAgent, name: string): Promise<void> {
  await createVm(client, { host: agent.ref, name, image: "tiny", memory: 192, ports: [] });
  await waitForVm(client, name, "started", { timeoutMs: 120_000 });
}

/** `vm stop <name>` (the guest powers off, killed after 20 s), until it stopped. */
async function stopVm(name: string): Promise<void> {
  await vmAction(client, name, "stop", { timeoutMs: 20_000 });
  await waitForVm(client, name, "stopped", { timeoutMs: 60_000 });
}

/** `vm start <name>`, until it started and its shell answers on the console. */
async function startVm(agent: TestAgent, name: string): Promise<void> {
  await vmAction(client, name, "start");
  await waitForVm(client, name, "started", { timeoutMs: 120_000 });
  await shellReady(agent, name);
}

/** The pid of VM `name`'s QEMU, 0 when it has none. */
function qemuPid(agent: TestAgent | undefined, name: string): number {
  if (!agent) return 0;
  const file = join(vmDir(agent, name), "qemu.pid");
  return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : 0;
}

/** Reads a console stream's output as text, so a test can wait for what it expects. */
function reader(stream: ConsoleStream) {
  let text = "";
  let bytes = 0;
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream.output as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      text += decoder.decode(chunk, { stream: true });
      if (text.length > 4 * 1024 * 1024) text = text.slice(-1024 * 1024);
    }
  })().catch(() => {});
  return {
    get text() {
      return text;
    },
    get bytes() {
      return bytes;
    },
    done,
    async until(pattern: RegExp, ms = 30_000): Promise<string> {
      const end = Date.now() + ms;
      while (!pattern.test(text)) {
        if (Date.now() > end)
          throw new Error(`no ${pattern} on the console; it printed:\n${text.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return text;
    },
  };
}

const typed = (text: string) => new TextEncoder().encode(text);

async function type(stream: ConsoleStream, text: string): Promise<void> {
  const writer = stream.input.getWriter();
  try {
    await writer.write(typed(text));
  } finally {
    writer.releaseLock();
  }
}

/** The VM's shell answers (a prompt after Enter): it booted and its console is attached. */
async function shellReady(agent: TestAgent, vm: string): Promise<void> {
  await eventually(
    async () => {
      const s = client.vmConsole(agent.ref, vm);
      const out = reader(s);
      try {
        await s.attached;
        await type(s, "\n");
        await out.until(/\/ # /, 5_000);
      } catch (error) {
        writeFileSync(`/tmp/vc-agent-${vm}.log`, agent.process.output());
        throw error;
      } finally {
        s.close();
      }
    },
    120_000,
    1_000,
  );
}

function drive(
  args: string[],
  steps: unknown[],
): Promise<{
  exit: number | null;
  output: string;
  modes: Record<string, boolean>;
  restored: boolean;
  error?: string;
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "python3",
      [DRIVER, JSON.stringify(steps), "--", process.execPath, CLI_BIN, ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TERM: "xterm-256color",
          OUTPOST_URL: stack.url,
          OUTPOST_TOKEN: token,
          XDG_CONFIG_HOME: stack.dir,
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`pty-driver printed no result: ${out}`));
      }
    });
  });
}

beforeAll(async () => {
  // KVM passes QEMU's probe on this machine and then never runs a guest (agent/vm/kvm.ts): TCG. The
  // agents inherit it (test/harness/agent.ts runs them with this process's environment).
  process.env.OUTPOST_VM_ACCEL = "tcg";
  const image = buildVmImage(mkdtempSync(join(tmpdir(), "outpost-console-image-")));
  stack = await startStack();
  const t = await stack.tenantInProd("consoles");
  client = t.client;
  token = t.token;
  const v = await client.keys.create({ role: "viewer", name: "console-viewer" });
  viewerToken = v.token;
  viewer = new (client.constructor as new (o: { url: string; token: string }) => Outpost)({
    url: stack.url,
    token: v.token,
  });
  other = (await stack.tenantInProd("someone-else")).client;
  [bun, deno] = await Promise.all([
    startAgent(client, { runtime: "bun", cluster: "prod", site: "fra1", url: stack.url, name: "vmh-bun" }),
    startAgent(client, { runtime: "deno", cluster: "prod", site: "fra1", url: stack.url, name: "vmh-deno" }),
  ]);
  await pushVmImage(client, "tiny", image);
  await Promise.all([createAndStart(bun, "web"), createAndStart(deno, "edge")]);
  await Promise.all([shellReady(bun, "web"), shellReady(deno, "edge")]);
}, 300_000);

afterAll(async () => {
  // vm rm, as a user cleans up; then whatever QEMU is left (a test that failed half way) by its pid.
  const pids = [qemuPid(bun, "web"), qemuPid(deno, "edge")];
  if (client) await Promise.all(["web", "edge"].map((vm) => removeVm(client, vm).catch(() => {})));
  await Promise.all(
    ["web", "edge"].map((vm) => waitForVm(client, vm, "destroyed", { timeoutMs: 30_000 }).catch(() => {})),
  );
  for (const pid of [...pids, qemuPid(bun, "web"), qemuPid(deno, "edge")]) {
    if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
  }
  await Promise.all([bun?.stop(), deno?.stop()]);
  // OUTPOST_VM_DEBUG=<dir>: the agents' output, to see what a failed run's hosts said.
  const debug = process.env.OUTPOST_VM_DEBUG;
  if (debug) {
    mkdirSync(debug, { recursive: true });
    for (const a of [bun, deno]) if (a) writeFileSync(join(debug, `${a.runtime}.log`), a.process.output());
  }
  await stack?.close();
}, 90_000);

describe.each([
  ["bun", () => bun, "web"],
  ["deno", () => deno, "edge"],
] as const)("a VM console on %s", (_runtime, agent, vm) => {
  it("round trips: a command typed on the console runs in the guest and its output comes back", async () => {
    const s = client.vmConsole(agent().ref, vm);
    const out = reader(s);
    expect(await s.attached).toEqual({ mode: "write" });
    await type(s, "echo sum-$((6*7))\n");
    // The echo of the typed line, then what the guest's shell printed (not in what was typed).
    await out.until(/sum-42/);
    expect(out.text).toContain("echo sum-$((6*7))");
    s.close();
  });

  it("keeps the console's history: vm logs shows the boot marker printed before anyone attached, and what was typed", async () => {
    const logs = client.vmLogs(agent().ref, vm, { lines: 100_000 });
    const out = reader(logs);
    await logs.ended;
    await out.done;
    expect(out.text).toContain(`OUTPOST-VM-READY ${vm}`);
    expect(out.text).toContain("sum-42");
    const last = client.vmLogs(agent().ref, vm, { lines: 1 });
    const one = reader(last);
    await last.ended;
    await one.done;
    expect(one.text.replace(/\n$/, "").split("\n")).toHaveLength(1);
  });
});

describe("one writer at a time", () => {
  it("attaches a second writer read-only and says so; it sees the writer's output and cannot type", async () => {
    const first = client.vmConsole(bun.ref, "web");
    const firstOut = reader(first);
    expect((await first.attached).mode).toBe("write");
    const second = client.vmConsole(bun.ref, "web");
    const secondOut = reader(second);
    const attached = await second.attached;
    expect(attached.mode).toBe("read");
    expect(attached.reason).toMatch(/another session is writing to web's console/);
    await expect(type(second, "echo nope\n")).rejects.toThrow(/read-only/);
    await type(first, "echo seen-by-$((1+1))\n");
    await firstOut.until(/seen-by-2/);
    await secondOut.until(/seen-by-2/);
    first.close();
    second.close();
  });

  it("refuses input from a read-only stream at the relay, even from a client that sends it anyway", async () => {
    const raw = RawStream.open(stack.url, token, `${bun.ref}/vms/web/console?mode=read`);
    expect(await raw.frame("attached")).toEqual({ t: "attached", mode: "read" });
    raw.send({ t: "stdin", data: typed("reboot\n") });
    expect(await raw.frame("error")).toMatchObject({ code: "credit_exceeded" });
    raw.ws.close();
  });

  it("promotes the oldest session that asked to write when the writer detaches, and tells it; a read-only one stays so", async () => {
    // The last test's sessions may still be letting go of the seat: wait until this one gets it.
    const first = await eventually(async () => {
      const s = client.vmConsole(bun.ref, "web");
      if ((await s.attached).mode === "write") return s;
      s.close();
      throw new Error("the seat is still held");
    });
    const watcher = client.vmConsole(bun.ref, "web", { mode: "read" });
    expect((await watcher.attached).mode).toBe("read");
    const second = client.vmConsole(bun.ref, "web");
    const secondOut = reader(second);
    const third = client.vmConsole(bun.ref, "web");
    try {
      expect((await second.attached).mode).toBe("read");
      expect((await third.attached).mode).toBe("read");
      let watcherPromoted = false;
      watcher.promoted.then(
        () => (watcherPromoted = true),
        () => {},
      );
      let thirdPromoted = false;
      third.promoted.then(
        () => (thirdPromoted = true),
        () => {},
      );
      // (A refused write errors a stream's input for good: only the one not promoted tries.)
      await expect(type(third, "echo nope\n")).rejects.toThrow(/read-only/);
      first.close();
      const promoted = await second.promoted;
      expect(promoted).toEqual({
        mode: "write",
        reason: "the writer detached: this session writes to web's console now",
      });
      await type(second, "echo promoted-$((20+1))\n");
      await secondOut.until(/promoted-21/);
      // The asked-for read-only one and the younger one are still readers.
      expect(watcherPromoted).toBe(false);
      expect(thirdPromoted).toBe(false);
      // The next writer to leave hands the seat on to the next in line, never to the read-only one.
      second.close();
      expect((await third.promoted).mode).toBe("write");
      expect(watcherPromoted).toBe(false);
    } finally {
      for (const s of [first, second, third, watcher]) s.close();
    }
  });

  it("frees the writer's seat when the writer detaches", async () => {
    const first = client.vmConsole(bun.ref, "web");
    expect((await first.attached).mode).toBe("write");
    first.close();
    await eventually(async () => {
      const again = client.vmConsole(bun.ref, "web");
      try {
        expect((await again.attached).mode).toBe("write");
      } finally {
        again.close();
      }
    });
  });
});

describe("sessions and audit", () => {
  it("records console sessions (kind console) and vm logs reads (kind logs), with audit events", async () => {
    const sessions = await client.sessions({ kind: "console", host: bun.ref });
    expect(sessions.sessions.length).toBeGreaterThan(0);
    expect(sessions.sessions[0]).toMatchObject({ kind: "console", argv: ["web"], host: bun.ref });
    const logs = await client.sessions({ kind: "logs", host: bun.ref });
    expect(logs.sessions.some((s) => s.argv[0] === "web")).toBe(true);
    const audit = await client.audit({ limit: 500 });
    const actions = audit.events.map((e: { action: string }) => e.action);
    expect(actions).toContain("vm.console");
    expect(actions).toContain("vm.logs");
    const cli = await runCli(["sessions", "--kind", "console", "--host", bun.ref, "--json"], {
      OUTPOST_URL: stack.url,
      OUTPOST_TOKEN: token,
    });
    expect(cli.code).toBe(0);
    const items = (JSON.parse(cli.stdout) as { items: Array<{ kind: string; host: string }> }).items;
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((s) => s.kind === "console" && s.host === bun.ref)).toBe(true);
  });
});

describe("bad input", () => {
  it("refuses an unknown VM: error vm_unknown, close 4404", async () => {
    const raw = RawStream.open(stack.url, token, `${bun.ref}/vms/nope/console`);
    expect(await raw.frame("error")).toMatchObject({
      code: "vm_unknown",
      message: "no VM 'nope' on this host (outpost vm ls lists them)",
    });
    expect((await raw.closed).code).toBe(4404);
  });

  it("refuses a live console on a driver whose console is output only; vm logs reads its file", async () => {
    // Firecracker cannot run here (no KVM), so its VM is laid out by hand as vm.ts lays one out.
    mkdirSync(vmDir(bun, "fc"), { recursive: true });
    writeFileSync(join(vmDir(bun, "fc"), "driver"), "firecracker\n");
    writeFileSync(join(vmDir(bun, "fc"), "console.log"), "firecracker guest booted\n");
    const raw = RawStream.open(stack.url, token, `${bun.ref}/vms/fc/console`);
    expect(await raw.frame("error")).toMatchObject({
      code: "vm_console_unsupported",
      message: expect.stringMatching(/runs on firecracker, whose console is output only/),
    });
    expect((await raw.closed).code).toBe(4404);
    const logs = client.vmLogs(bun.ref, "fc");
    const out = reader(logs);
    await logs.ended;
    await out.done;
    expect(out.text).toBe("firecracker guest booted\n");
  });

  it("refuses a VM name that is a path before anything reaches the host", async () => {
    // "%2E%2E" is ".." to a URL parser, so the path loses a segment and no route matches (404);
    // everything else that is not a VM name reaches the route and is refused there (400).
    for (const [name, status] of [
      ["..%2F..%2Fetc", 400],
      ["%2E%2E", 404],
      ["Web", 400],
      ["a.b", 400],
      ["-x", 400],
    ] as const) {
      const raw = RawStream.open(stack.url, token, `${bun.ref}/vms/${name}/logs`);
      await expect(raw.opened).rejects.toThrow(`upgrade refused: ${status}`);
      const res = await fetch(`${stack.url}/v1/hosts/${bun.ref}/vms/${name}/console`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect([name, res.status]).toEqual([name, status]);
      if (status === 400) expect(await res.text()).toMatch(/vm: must be a VM name/);
    }
    // Nothing was made for them on the host.
    expect(existsSync(join(bun.stateDir, "etc"))).toBe(false);
  });

  it("answers another tenant's host 404, as if absent", async () => {
    const s = other.vmConsole(bun.ref, "web");
    await expect(s.session).rejects.toMatchObject({ status: 404 });
    const l = other.vmLogs(bun.ref, "web");
    await expect(l.session).rejects.toMatchObject({ status: 404 });
  });

  it("refuses a viewer the console, read-only too, but lets it read the logs", async () => {
    await expect(viewer.vmConsole(bun.ref, "web").session).rejects.toMatchObject({ status: 403 });
    await expect(viewer.vmConsole(bun.ref, "web", { mode: "read" }).session).rejects.toMatchObject({
      status: 403,
    });
    const logs = viewer.vmLogs(bun.ref, "web", { lines: 5 });
    await logs.ended;
  });
});

describe("a guest that floods its console", () => {
  it("keeps the history bounded, and holds no more than its backlog for a client that grants no credit", async () => {
    const writer = client.vmConsole(bun.ref, "web");
    const out = reader(writer);
    await writer.attached;
    // A reader that never reads: the SDK grants credit only as output is read.
    const stalled = client.vmConsole(bun.ref, "web", { mode: "read", credit: 1024 });
    await stalled.attached;
    try {
      await type(writer, "yes outpost-flood-line-of-console-output\n");
      const dir = vmDir(bun, "web");
      // Until the history has rotated at least once: more than 1 MiB went through the console.
      await eventually(
        async () => expect(existsSync(join(dir, "console.history.1"))).toBe(true),
        180_000,
        500,
      );
      // Ctrl-C, again until the shell answers: on a loaded machine a TCG guest can take its time.
      await eventually(
        async () => {
          await type(writer, "\u0003");
          await type(writer, "echo flood-over-$((3*3))\n");
          await out.until(/flood-over-9/, 15_000);
        },
        150_000,
        0,
      );
      const limit = 1024 * 1024;
      expect(statSync(join(dir, "console.history")).size).toBeLessThanOrEqual(limit);
      expect(statSync(join(dir, "console.history.1")).size).toBeLessThanOrEqual(limit);
      // QEMU's own log of the console is trimmed too.
      expect(statSync(join(dir, "console.log")).size).toBeLessThanOrEqual(limit + 256 * 1024);
      // More than 1 MiB went by; the stalled reader gets its backlog (at most CONSOLE_BACKLOG_BYTES, the
      // agent's whole holding for it), told what it missed, and then the output that came since.
      const late = reader(stalled);
      await late.until(/flood-over-9/, 60_000);
      expect(late.text).toMatch(
        /\[outpost: \d+ bytes of console output skipped: this client read too slowly/,
      );
      const skipped = Number(/\[outpost: (\d+) bytes/.exec(late.text)![1]);
      expect(skipped).toBeGreaterThan(512 * 1024);
      expect(late.bytes).toBeLessThan(256 * 1024 + 64 * 1024 + 4096);
    } finally {
      // Whatever failed, the writer's seat is free for the tests after this one.
      writer.close();
      stalled.close();
      // The flood saturates the one local workerd: the other host's agent can miss its control plane
      // for a while (it says "no challenge from the control plane"). The tests after this one need it.
      await eventually(
        async () => {
          for (const a of [bun, deno]) {
            const h = (await client.hosts.get(a.ref)).host;
            if (h.status !== "online") throw new Error(`${a.ref} is ${h.status}`);
          }
        },
        60_000,
        500,
      );
    }
  }, 420_000);
});

describe("the CLI", () => {
  it("vm console: a raw terminal on the VM's console (its host found through the control plane); Ctrl-] detaches with exit 0 and the terminal restored", async () => {
    const r = await drive(
      ["vm", "console", "edge"],
      [
        { expect: "attached to edge's console on vmh-deno.prod \\(Ctrl-\\] detaches\\)", timeout: 30 },
        { mode: "attached" },
        { write: "echo cli-$((2+3))\r" },
        { expect: "cli-5", timeout: 30 },
        { write: "\u001d" },
        { expect: "detached", timeout: 10 },
      ],
    );
    expect(r.error).toBeUndefined();
    expect(r.modes.attached).toBe(true);
    expect(r.exit).toBe(0);
    expect(r.restored).toBe(true);
  }, 90_000);

  it("vm console --read-only says so (--host still taken)", async () => {
    const r = await drive(
      ["vm", "console", "edge", "--host", deno.ref, "--read-only"],
      [
        { expect: "read-only: as asked", timeout: 30 },
        { write: "\u001d" },
        { expect: "detached", timeout: 10 },
      ],
    );
    expect(r.exit).toBe(0);
  }, 60_000);

  it("finds the host with --cluster; a VM the control plane does not have (or another tenant's) exits 1 saying so", async () => {
    const env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: token };
    const inProd = await runCli(["vm", "logs", "web", "--cluster", "prod", "-n", "1", "--json"], env);
    expect(inProd.code, inProd.stderr).toBe(0);
    expect(JSON.parse(inProd.stdout).items[0]).toMatchObject({ vm: "web", host: bun.ref });
    const elsewhere = await runCli(["vm", "console", "web", "--cluster", "staging"], env);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/VM 'web' in cluster 'staging'/);
    const nope = await runCli(["vm", "logs", "nope"], env);
    expect(nope.code).toBe(1);
    expect(nope.stderr).toMatch(/VM 'nope'/);
    // Another tenant's VM is absent to it, by name as by host.
    const theirs = await runCli(["vm", "logs", "web"], {
      OUTPOST_URL: stack.url,
      OUTPOST_TOKEN: (await stack.tenantInProd("third-party")).token,
    });
    expect(theirs.code).toBe(1);
    expect(theirs.stderr).toMatch(/VM 'web'/);
    expect(theirs.stdout).toBe("");
    const usage = await runCli(["vm", "console", "Web"], env);
    expect(usage.code).toBe(2);
  });

  it("vm console on an unknown VM exits 1 with the host's words", async () => {
    const r = await runCli(["vm", "console", "nope", "--host", deno.ref], {
      OUTPOST_URL: stack.url,
      OUTPOST_TOKEN: token,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no VM 'nope' on this host .*\(vm_unknown\)/);
  });

  it("vm logs -n N --json lists the last lines as {items, nextCursor}", async () => {
    const r = await runCli(["vm", "logs", "edge", "-n", "3", "--json"], {
      OUTPOST_URL: stack.url,
      OUTPOST_TOKEN: viewerToken,
    });
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as {
      items: Array<{ vm: string; host: string; line: string }>;
      nextCursor: null;
    };
    expect(parsed.items).toHaveLength(3);
    expect(parsed.items[0]).toMatchObject({ vm: "edge", host: deno.ref });
    expect(parsed.nextCursor).toBeNull();
  });

  it("vm logs -f follows what the console prints next", async () => {
    const child = spawn(
      process.execPath,
      [CLI_BIN, "vm", "logs", "edge", "--host", deno.ref, "-f", "-n", "0"],
      {
        env: { ...process.env, OUTPOST_URL: stack.url, OUTPOST_TOKEN: token },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    try {
      await eventually(async () => {
        const s = client.vmConsole(deno.ref, "edge");
        await s.attached;
        await type(s, "echo followed-$((4*4))\n");
        s.close();
        await eventually(async () => expect(out).toMatch(/followed-16/), 3_000);
      }, 30_000);
    } finally {
      child.kill("SIGINT");
    }
    expect(await new Promise((r) => child.on("close", r))).toBe(0);
  }, 60_000);
});

describe("restarts", () => {
  it("ends an attached console when the VM stops (vm stop: vm_stopped), refuses one while it is stopped, and attaches again once it runs", async () => {
    const s = client.vmConsole(bun.ref, "web");
    const live = reader(s);
    await s.attached;
    await type(s, "echo before-stop-$((8*8))\n");
    await live.until(/before-stop-64/);
    await stopVm("web");
    await expect(s.ended).rejects.toMatchObject({ code: "vm_stopped" });
    // Stopped: no console, but its logs still show what it printed, up to its poweroff (the guest's
    // init prints the marker as it powers off).
    const raw = RawStream.open(stack.url, token, `${bun.ref}/vms/web/console`);
    expect(await raw.frame("error")).toMatchObject({ code: "vm_not_running" });
    expect((await raw.closed).code).toBe(4404);
    const logs = client.vmLogs(bun.ref, "web", { lines: 100_000 });
    const out = reader(logs);
    await logs.ended;
    await out.done;
    expect(out.text).toContain("before-stop-64");
    expect(out.text).toContain("OUTPOST-VM-POWEROFF");
    await startVm(bun, "web");
  }, 240_000);

  it("vm console exits 1 saying so when the VM stops under it, the terminal restored", async () => {
    const driven = drive(
      ["vm", "console", "web", "--host", bun.ref],
      [
        { expect: "attached to web's console", timeout: 30 },
        { expect: "stopped: its console is gone \\(vm_stopped\\)", timeout: 90 },
        { sleep: 1 },
      ],
    );
    await new Promise((r) => setTimeout(r, 5_000)); // the CLI has attached by then
    await stopVm("web");
    const r = await driven;
    expect(r.error).toBeUndefined();
    expect(r.exit).toBe(1);
    expect(r.restored).toBe(true);
    await startVm(bun, "web");
  }, 240_000);

  it("serves the console again after the agent restarts, the VM running on", async () => {
    const pid = qemuPid(bun, "web");
    await bun.restart();
    await eventually(async () => {
      const h = (await client.hosts.get(bun.ref)).host;
      if (h.status !== "online") throw new Error("offline");
    }, 30_000);
    const s = client.vmConsole(bun.ref, "web");
    const out = reader(s);
    await s.attached;
    await type(s, "echo after-restart-$((5*5))\n");
    await out.until(/after-restart-25/, 30_000);
    s.close();
    expect(qemuPid(bun, "web")).toBe(pid);
  }, 120_000);

  it("follows a VM removed and created again under the same name: a fresh history, a console that answers", async () => {
    await removeVm(client, "web");
    await waitForVm(client, "web", "destroyed", { timeoutMs: 60_000 });
    expect(existsSync(vmDir(bun, "web"))).toBe(false);
    await createAndStart(bun, "web");
    await shellReady(bun, "web");
    const s = client.vmConsole(bun.ref, "web");
    const out = reader(s);
    expect((await s.attached).mode).toBe("write");
    await type(s, "echo reborn-$((9*9))\n");
    await out.until(/reborn-81/);
    s.close();
    const history = readFileSync(join(vmDir(bun, "web"), "console.history"), "utf8");
    expect(history).toContain("OUTPOST-VM-READY web");
    expect(history).toContain("reborn-81");
    expect(history).not.toContain("after-restart-25");
  }, 240_000);
});
