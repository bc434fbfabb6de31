// How the console hub (console-hub.ts) finds a VM's running instance, and where a VM lives on disk.
// The agent's VM lifecycle (Vms, agent/vm/vms.ts) satisfies VmLookup; until it serves every VM,
// StateDirVms (state-dir-vms.ts) does, from the state dir's layout alone:
//
//   <identity state dir>/vms/<vm name>/          the directory given to driver.start / attach
//   <identity state dir>/vms/<vm name>/driver    one line: the driver's name (qemu, firecracker, …)
//
// A VM name is a DNS label (names.ts NAME_PATTERN: lowercase letters, digits, '-'): it has no '/', no
// '.', so no name a control plane sends can name a path outside vms/. It is checked here again anyway,
// where the path is made.

import { join } from "node:path";
import { NAME_PATTERN } from "../../schema/names.ts";
import type { VmInstance } from "./driver.ts";

export interface VmLookup {
  /** The VM's running instance, or undefined when it is not running (or unknown). */
  instance(name: string): VmInstance | undefined;
  /** Called with a VM's name whenever its instance may have changed (started, stopped, restored). */
  onChange(listener: (name: string) => void): () => void;
}

/** The folder below an identity's state dir that holds one folder per VM. */
export const VMS_DIR = "vms";

/** The directory of VM `name` in `stateDir`; RangeError for a name that is not a VM name. */
export function vmDir(stateDir: string, name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new RangeError(
      `Cannot use VM name ${JSON.stringify(name).slice(0, 80)}: a VM name is 1-63 lowercase letters, digits or '-'`,
    );
  }
  return join(stateDir, VMS_DIR, name);
}
