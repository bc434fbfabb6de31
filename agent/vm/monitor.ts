// What the two REST-driven monitors (Firecracker, Cloud Hypervisor) share: their options, the probe
// (binary and KVM), the refusal of port forwards without a bridge, and starting the monitor process
// with its API socket in the VM's directory.

import type { Runtime } from "../runtime/index.ts";
import { type DriverName, type DriverProbe, type VmConfig, VmError } from "./driver.ts";
import { tail } from "./process.ts";
import { apiRequest } from "./unix-http.ts";

export interface MonitorOptions {
  /** The monitor's binary (looked up on PATH). */
  binary?: string;
  /** Whether KVM works; probed (kvm.ts) when absent. */
  kvm?: () => Promise<boolean>;
}

/** `<binary> --version`'s version number, or undefined when the binary does not run. */
async function runVersion(runtime: Runtime, binary: string): Promise<string | undefined> {
  try {
    const child = runtime.spawn([binary, "--version"]);
    void child.stdin.close().catch(() => {});
    const [out, status] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    return status.code === 0 ? (/(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? "unknown") : undefined;
  } catch {
    return undefined;
  }
}

/** What a KVM-only monitor offers: available when its binary runs and KVM works. */
export async function probeMonitor(
  runtime: Runtime,
  name: DriverName,
  binary: string,
  kvm: () => Promise<boolean>,
): Promise<DriverProbe> {
  const version = await runVersion(runtime, binary);
  if (!version) return { name, available: false, reason: `${binary} is not on PATH` };
  if (!(await kvm())) return { name, available: false, version, reason: "KVM does not work on this host" };
  return { name, available: true, accel: "kvm", version };
}

/** These monitors have no user-mode networking: a VM's ports need a TAP bridge. */
export function refusePortsWithoutBridge(name: DriverName, config: VmConfig): void {
  if (config.ports.length && !config.tap) {
    throw new VmError(
      `Cannot forward ports of ${config.name} with ${name}: it needs a TAP bridge (start the agent with --vm-bridge)`,
    );
  }
}

/**
 * Starts `argv` (a monitor that opens its API on `socket`), records its pid in `<dir>/vmm.pid` and
 * waits until `GET pingPath` answers 200. The monitor is not detached from its pipes, which are
 * drained; its own output goes to the files the driver configures. Returns the pid.
 */
export async function spawnMonitor(
  runtime: Runtime,
  argv: string[],
  dir: string,
  socket: string,
  pingPath: string,
): Promise<number> {
  const child = runtime.spawn(argv);
  void child.stdout.pipeTo(new WritableStream()).catch(() => {});
  const stderr = new Response(child.stderr).text().catch(() => "");
  await runtime.writeFile(`${dir}/vmm.pid`, `${child.pid}\n`);
  const end = Date.now() + 5_000;
  while (Date.now() < end) {
    if ((await apiRequest(socket, "GET", pingPath).catch(() => undefined))?.status === 200) return child.pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new VmError(`${argv[0]} did not open its API socket: ${tail(await stderr) || "no output"}`);
}
