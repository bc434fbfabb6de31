// Starts or stops a VM with the real QEMU driver (agent/vm/qemu.ts), laid out as the agent's VM
// lifecycle lays it out (agent/vm/vm-lookup.ts): `<state dir>/vms/<name>/` with its `driver` file.
// For tests that drive a VM's console through a real agent (test/vm-console.test.ts) and the bench.
//   OUTPOST_VM_PHASE=start OUTPOST_VM_DIR=… OUTPOST_VM_NAME=… OUTPOST_VM_IMAGE='{kernel,initrd,cmdline}'
//   OUTPOST_VM_PHASE=kill  OUTPOST_VM_DIR=…
// Prints one JSON line: {ok: true, pid} or {ok: false, error}. OUTPOST_VM_DRIVER_FILE=later: no
// `driver` file, so that no agent attaches until the caller writes it.
import { mkdirSync, writeFileSync } from "node:fs";
import { detectRuntime } from "../../agent/runtime/index.ts";
import { QemuDriver } from "../../agent/vm/qemu.ts";

const dir = process.env.OUTPOST_VM_DIR ?? "";
const driver = new QemuDriver(detectRuntime());
try {
  if (process.env.OUTPOST_VM_PHASE === "start") {
    const image = JSON.parse(process.env.OUTPOST_VM_IMAGE ?? "{}") as {
      kernel: string;
      initrd: string;
      cmdline: string;
    };
    mkdirSync(dir, { recursive: true });
    const vm = await driver.start(dir, {
      name: process.env.OUTPOST_VM_NAME ?? "vm",
      cpus: 1,
      memoryMiB: 192,
      kernel: image.kernel,
      initrd: image.initrd,
      cmdline: image.cmdline,
      ports: [],
    });
    vm.detach();
    // Last: an agent polling the state dir attaches (QMP takes one client) only once we let go. The
    // bench writes it itself, after reading the console directly while no agent holds it.
    if (process.env.OUTPOST_VM_DRIVER_FILE !== "later") writeFileSync(`${dir}/driver`, "qemu\n");
    console.log(JSON.stringify({ ok: true, pid: vm.pid, consoleSocket: vm.consoleSocket }));
  } else {
    const vm = await driver.attach(dir);
    if (vm) await vm.kill();
    console.log(JSON.stringify({ ok: true, pid: vm?.pid ?? 0 }));
  }
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error) }));
}
process.exit(0);
