// What the two REST-driven monitors (Firecracker, Cloud Hypervisor) share: their options, the version
// check, and starting the monitor process with its API socket in the VM's directory.

import type { Runtime } from "../runtime/index.ts";
import { VmError } from "./driver.ts";
import { tail } from "./process.ts";
import { apiRequest } from "./unix-http.ts";

export interface MonitorOptions {
  /** The monitor's binary (looked up on PATH). */
  binary?: string;
  /** Whether KVM works; probed (kvm.ts) when absent. */
  kvm?: () => Promise<boolean>;
}

/** `<binary> --version`'s version number, or undefined when the binary does not run. */
export async function runVersion(runtime: Runtime, binary: string): Promise<string | undefined> {
  try {
    const child = runtime.spawn([binary, "--version"]);
    void child.stdin.close().catch(() => {});
    const [out, status] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    return status.code === 0 ? (/(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? "unknown") : undefined;
  } catch {
    return undefined;
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
