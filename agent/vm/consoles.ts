// The consoles of one identity's VMs, as the agent serves them (main.ts): VMs found from the state
// dir's layout (state-dir-vms.ts) with the QEMU driver, the one whose console is a socket (Firecracker
// and Cloud Hypervisor write theirs to a file, which `vm logs` reads; leaving their drivers out keeps
// node:http out of every idle agent: about 3 MiB on Bun), and a console hub per VM
// (console-hub.ts) connected from the start, so the history holds what a VM printed before anyone
// attached. When the VM lifecycle (Vms, agent/vm/vms.ts) lands, it is the lookup given here instead.
import type { Runtime } from "../runtime/index.ts";
import { ConsoleHubs } from "./console-hub.ts";
import { QemuDriver } from "./qemu.ts";
import { StateDirVms } from "./state-dir-vms.ts";

export async function openConsoles(
  runtime: Runtime,
  stateDir: string,
  log: (line: string) => void,
): Promise<{ consoles: ConsoleHubs; close(): void }> {
  const vms = new StateDirVms({
    stateDir,
    drivers: [new QemuDriver(runtime)],
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
