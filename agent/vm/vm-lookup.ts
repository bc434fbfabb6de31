// How the console hub (console-hub.ts) finds a VM's running instance, and where a VM lives on disk.
// The agent's VM lifecycle (Vms, agent/vm/vms.ts) satisfies VmLookup: a console follows a VM the
// control plane created, through its starts, stops, restores and the agent's restarts. The layout,
// as vm.ts makes it (and console-streams.ts reads it to tell a VM of this host, and its driver):
//
//   <identity state dir>/vms/<vm name>/          the directory given to driver.start / attach
//   <identity state dir>/vms/<vm name>/driver    one line: the driver's name (qemu, firecracker, …)
//
// A VM name is a DNS label (names.ts NAME_PATTERN: lowercase letters, digits, '-'): it has no '/', no
// '.', so no name a control plane sends can name a path outside vms/. It is checked here again anyway,
// where the path is made.

import { existsSync, readFileSync } from "node:fs";
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
const VMS_DIR = "vms";

/** The directory of VM `name` in `stateDir`; RangeError for a name that is not a VM name. */
export function vmDir(stateDir: string, name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new RangeError(
      `Cannot use VM name ${JSON.stringify(name).slice(0, 80)}: a VM name is 1-63 lowercase letters, digits or '-'`,
    );
  }
  return join(stateDir, VMS_DIR, name);
}

/** Whether the state dir holds VM `name` (its directory with a `driver` file), running or not. */
export function hasVm(stateDir: string, name: string): boolean {
  return existsSync(join(vmDir(stateDir, name), "driver"));
}

/** The driver VM `name`'s `driver` file names ("" when it cannot be read). */
export function driverOf(stateDir: string, name: string): string {
  try {
    return readFileSync(join(vmDir(stateDir, name), "driver"), "utf8").trim();
  } catch {
    return "";
  }
}
