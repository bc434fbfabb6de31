// The consoles of one identity's VMs, as the agent serves them (main.ts): a console hub per VM
// (console-hub.ts) that follows the VM through the lifecycle (Vms: instance(name), onChange), and is
// connected from the start for the VMs already running (re-attached after an agent restart), so the
// history holds what a VM printed before anyone attached.
import { ConsoleHubs } from "./console-hub.ts";
import type { VmLookup } from "./vm-lookup.ts";

export function openConsoles(
  vms: VmLookup & { names(): string[] },
  stateDir: string,
  log: (line: string) => void,
): ConsoleHubs {
  const consoles = new ConsoleHubs({ stateDir, lookup: vms, log });
  consoles.watch(vms.names());
  return consoles;
}
