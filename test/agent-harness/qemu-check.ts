// Drives agent/vm/qemu.ts with real QEMU on whichever runtime runs this file, in the VM directory
// OUTPOST_VM_DIR with the image in OUTPOST_VM_IMAGE (scripts/vm-image), and prints one JSON report;
// agent/vm/qemu.test.ts runs it under Bun and Deno. Phase "start" boots the VM and leaves it running
// (as an agent that is killed would); phase "attach", a new process, finds it again and stops it.
import { existsSync, readFileSync } from "node:fs";
import { detectRuntime } from "../../agent/runtime/index.ts";
import type { VmConfig, VmInstance } from "../../agent/vm/driver.ts";
import { QemuDriver } from "../../agent/vm/qemu.ts";

const dir = process.env.OUTPOST_VM_DIR ?? "";
const image = JSON.parse(process.env.OUTPOST_VM_IMAGE ?? "{}") as {
  kernel: string;
  initrd: string;
  cmdline: string;
};
const port = Number(process.env.OUTPOST_VM_PORT);
const driver = new QemuDriver(detectRuntime());
const report: Record<string, unknown> = {};

async function scenario(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    report[name] = await fn();
  } catch (error) {
    report[name] = { threw: String(error) };
  }
}

async function until<T>(ms: number, fn: () => Promise<T | undefined>): Promise<T | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

const counter = async () => {
  const text = (await (await fetch(`http://127.0.0.1:${port}/counter`)).text()).trim();
  return text ? Number(text) : undefined;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const config: VmConfig = {
  name: "probe",
  cpus: 1,
  memoryMiB: 256,
  kernel: image.kernel,
  initrd: image.initrd,
  cmdline: image.cmdline,
  disk: `${dir}/disk.qcow2`,
  ports: [{ guest: 8080, host: port }],
};

let vm: VmInstance | undefined;
if (process.env.OUTPOST_VM_PHASE === "start") {
  await scenario("probe", () => driver.probe());
  await scenario("badKernel", async () => {
    try {
      await driver.start(`${dir}/bad`, {
        ...config,
        disk: undefined,
        kernel: `${dir}/no-such-kernel`,
        ports: [],
      });
      return "started";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  });
  await scenario("start", async () => {
    vm = await driver.start(dir, config);
    const marker = await until(120_000, async () =>
      existsSync(vm!.consoleLog) && readFileSync(vm!.consoleLog, "utf8").includes("OUTPOST-VM-READY probe")
        ? true
        : undefined,
    );
    const body = await until(30_000, async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      return res.ok ? res.text() : undefined;
    });
    return { marker, body, state: await vm.state() };
  });
  await scenario("pause", async () => {
    await vm!.pause();
    const state = await vm!.state();
    // A paused guest answers nothing (user-net runs in QEMU's main loop, but the guest's CPU is stopped).
    const answered = await fetch(`http://127.0.0.1:${port}/counter`, { signal: AbortSignal.timeout(1500) })
      .then(() => true)
      .catch(() => false);
    await vm!.resume();
    return { state, answered, after: await vm!.state() };
  });
  await scenario("snapshot", async () => {
    await until(20_000, async () => (((await counter()) ?? 0) >= 3 ? true : undefined));
    await vm!.snapshot("s1");
    const atSnapshot = await until(5_000, counter);
    await sleep(4000);
    const later = await until(5_000, counter);
    await vm!.restore("s1");
    // (The guest rewrites the file every second: a read may catch it empty.)
    const restored = await until(20_000, counter);
    return { atSnapshot, later, restored };
  });
  await scenario("badTag", async () => {
    try {
      await vm!.snapshot("../x");
      return "accepted";
    } catch (error) {
      return (error as Error).message;
    }
  });
  vm?.detach();
} else {
  await scenario("attach", async () => {
    vm = await driver.attach(dir);
    if (!vm) return "none";
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    return { state: await vm.state(), body };
  });
  await scenario("shutdown", async () => {
    await vm!.shutdown();
    const off = await Promise.race([vm!.exited.then(() => true), sleep(90_000).then(() => false)]);
    return {
      off,
      announced: readFileSync(vm!.consoleLog, "utf8").includes("OUTPOST-VM-POWEROFF"),
      again: await driver.attach(dir),
    };
  });
}

console.log(JSON.stringify(report));
process.exit(0);
