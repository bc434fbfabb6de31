// The consoles of one identity's VMs, as the agent serves them (main.ts): VMs found from the state
// dir's layout (state-dir-vms.ts) with every driver this agent has, and a console hub per VM
// (console-hub.ts) connected from the start, so the history holds what a VM printed before anyone
// attached. When the VM lifecycle (Vms, agent/vm/vms.ts) lands, it is the lookup given here instead.
import type { Runtime } from "../runtime/index.ts";
import { CloudHypervisorDriver } from "./cloud-hypervisor.ts";
import { ConsoleHubs } from "./console-hub.ts";
import { FirecrackerDriver } from "./firecracker.ts";
import { QemuDriver } from "./qemu.ts";
import { StateDirVms } from "./state-dir-vms.ts";

export async function openConsoles(
  runtime: Runtime,
  stateDir: string,
  log: (line: string) => void,
): Promise<{ consoles: ConsoleHubs; close(): void }> {
  const vms = new StateDirVms({
    stateDir,
    drivers: [new QemuDriver(runtime), new FirecrackerDriver(runtime), new CloudHypervisorDriver(runtime)],
    log,
  });
  const consoles = new ConsoleHubs({ stateDir, lookup: vms, log });
  await vms.start();
  consoles.watch(vms.names());
  return {
    consoles,
    close: () => {
      consoles.close();
      vms.close();
    },
  };
}
