// Drives agent/vm/firecracker.ts or agent/vm/cloud-hypervisor.ts (OUTPOST_VMM_KIND) on whichever runtime
// runs this file, against the spec-checked FAKE monitor (fake-vmm.ts) installed as OUTPOST_VMM_BIN,
// in the VM directory OUTPOST_VM_DIR; prints one JSON report for agent/vm/vmm-drivers.test.ts.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { detectRuntime } from "../../agent/runtime/index.ts";
import { CloudHypervisorDriver } from "../../agent/vm/cloud-hypervisor.ts";
import type { VmConfig, VmInstance } from "../../agent/vm/driver.ts";
import { FirecrackerDriver } from "../../agent/vm/firecracker.ts";

const runtime = detectRuntime();
const dir = process.env.OUTPOST_VM_DIR ?? "";
const options = { binary: process.env.OUTPOST_VMM_BIN ?? "", kvm: async () => true };
const make = (kvm = true) =>
  process.env.OUTPOST_VMM_KIND === "firecracker"
    ? new FirecrackerDriver(runtime, { ...options, kvm: async () => kvm })
    : new CloudHypervisorDriver(runtime, { ...options, kvm: async () => kvm });
const driver = make();
const report: Record<string, unknown> = {};

async function scenario(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    report[name] = await fn();
  } catch (error) {
    report[name] = { threw: String(error) };
  }
}

async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return "accepted";
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

const config: VmConfig = {
  name: "probe",
  cpus: 2,
  memoryMiB: 256,
  kernel: `${dir}/vmlinuz`,
  initrd: `${dir}/initrd`,
  cmdline: "console=ttyS0",
  disk: `${dir}/disk.img`,
  ports: [],
};
const console_ = () => (existsSync(`${dir}/console.log`) ? readFileSync(`${dir}/console.log`, "utf8") : "");
let vm: VmInstance | undefined;

await scenario("probe", () => driver.probe());
await scenario("probeWithoutKvm", () => make(false).probe());
await scenario("ports", () =>
  refusal(() => driver.start(dir, { ...config, ports: [{ guest: 80, host: 8080 }] })),
);
// On a bridge: the TAP in the monitor's network config, in a directory of its own (its own request log).
await scenario("tap", async () => {
  const tapDir = `${dir}/tap`;
  mkdirSync(tapDir, { recursive: true });
  const tap = {
    ifname: "op0123456789ab",
    mac: "52:54:00:12:34:56",
    address: "10.213.0.2",
    prefix: 24,
    gateway: "10.213.0.1",
  };
  const inst = await driver.start(tapDir, { ...config, ports: [{ guest: 80, host: 0 }], tap });
  const state = await inst.state();
  await inst.kill();
  return { state };
});
await scenario("start", async () => {
  vm = await driver.start(dir, config);
  return { state: await vm.state(), booted: console_().includes("OUTPOST-VM-READY probe") };
});
await scenario("attach", async () => {
  const again = await driver.attach(dir);
  const state = await again?.state();
  again?.detach();
  return { pid: again?.pid === vm?.pid, state };
});
await scenario("pause", async () => {
  await vm!.pause();
  const paused = await vm!.state();
  await vm!.resume();
  return [paused, await vm!.state()];
});
await scenario("snapshot", async () => {
  await vm!.snapshot("s1");
  const after = await vm!.state();
  vm = await vm!.restore("s1");
  return { after, restored: await vm.state() };
});
await scenario("missingSnapshot", () => refusal(() => vm!.restore("nope")));
await scenario("badName", () => refusal(() => vm!.snapshot("../../etc")));
await scenario("shutdown", async () => {
  await vm!.shutdown();
  const off = await Promise.race([
    vm!.exited.then(() => true),
    new Promise((r) => setTimeout(() => r(false), 10_000)),
  ]);
  return {
    off,
    announced: console_().includes("OUTPOST-VM-POWEROFF"),
    attach: (await driver.attach(dir)) === undefined,
  };
});
console.log(JSON.stringify(report));
process.exit(0);
