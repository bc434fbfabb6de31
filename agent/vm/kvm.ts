// Does KVM work here? /dev/kvm existing is not enough: with nested virtualisation off it exists and
// QEMU aborts at vCPU setup ("failed to set MSR 0x10a"). Where QEMU is installed, a stopped machine
// with one vCPU under -accel kvm answers the question for real (about 0.3 s, once per agent);
// otherwise all that can be checked is that the device opens read-write. Where KVM passes that and
// still hangs guests (seen on this project's CI machine), OUTPOST_VM_ACCEL=tcg turns it off.

import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import type { Runtime } from "../runtime/index.ts";

export async function kvmUsable(runtime: Runtime, qemu = "qemu-system-x86_64"): Promise<boolean> {
  // Some hosts pass the probe and still hang every guest (nested virtualisation that half works:
  // the vCPU is set up, then never runs). OUTPOST_VM_ACCEL=tcg says so, where the owner knows.
  if (runtime.env("OUTPOST_VM_ACCEL") === "tcg") return false;
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  // Nor is a QEMU that starts: a paravirtual KVM (kvm_pvm, as on this machine) runs the firmware and
  // the kernel's real-mode setup, then the guest hangs for good entering long mode. Hardware
  // virtualisation shows as the vmx (Intel) or svm (AMD) CPU flag; without one, KVM is not used.
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  if (cpuinfo && !/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) return false;
  try {
    // biome-ignore format: one QEMU option per line
    const child = runtime.spawn([qemu, "-M", "q35", "-accel", "kvm", "-cpu", "host", "-m", "64", "-S",
      "-nodefaults", "-no-user-config", "-display", "none", "-qmp", "stdio"]);
    const writer = child.stdin.getWriter();
    await writer
      .write(new TextEncoder().encode('{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n'))
      .catch(() => {});
    await writer.close().catch(() => {});
    void child.stdout.pipeTo(new WritableStream()).catch(() => {});
    void child.stderr.pipeTo(new WritableStream()).catch(() => {});
    return (await child.exited).code === 0;
  } catch {
    return true; // no QEMU to ask: the device opens, which is all we can know
  }
}
