// microVMs from the SDK: images so far.
export { listVmImages, pushVmImage, removeVmImage, showVmImage } from "./images.ts";
export type { VmImageFiles } from "./pack-image.ts";
