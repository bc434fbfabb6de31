// The agent's microVMs (issue 14): workloads of kind "vm", run by a driver (qemu, firecracker,
// cloud-hypervisor) in <state>/vms/<vm>/.
export type { VmInstance } from "./driver.ts";
export { type Bridge, openBridge } from "./tap.ts";
export { Vms, type VmsOptions } from "./vms.ts";
