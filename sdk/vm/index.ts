// microVMs from the SDK: images and the VMs themselves.
export { listVmImages, pushVmImage, removeVmImage, showVmImage } from "./images.ts";
export type { VmImageFiles } from "./pack-image.ts";
export {
  createVm,
  listVms,
  removeVm,
  removeVmSnapshot,
  restoreVm,
  showVm,
  snapshotVm,
  type VmState,
  type VmView,
  vmAction,
  waitForVm,
  waitForVmAction,
} from "./vms.ts";
