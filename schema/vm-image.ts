// The VM image format: an artifact (tar.gz) with `manifest.json` and the files it names, each at a fixed
// name (`kernel`, `initrd`, `rootfs`), so nothing an image says can name a path of its own: an agent
// unpacks exactly these entries into its own image directory and refuses anything else.
import { findControlCharacter } from "./protocol/control-characters.ts";

export const VM_IMAGE_FORMAT = "outpost-vm-image/1";
const VM_IMAGE_FILES = ["kernel", "initrd", "rootfs"] as const;
type VmImageFile = (typeof VM_IMAGE_FILES)[number];
/** How the rootfs is stored; qcow2 and raw are what `qemu-img create -b … -F` takes as a backing file. */
const ROOTFS_FORMATS = ["raw", "qcow2"] as const;

export interface VmImageManifest {
  format: typeof VM_IMAGE_FORMAT;
  /** The files present, by their fixed names, with their sizes in bytes. */
  files: Partial<Record<VmImageFile, { size: number }>> & { kernel: { size: number } };
  rootfsFormat?: (typeof ROOTFS_FORMATS)[number];
  cmdline: string;
}

/** The manifest as JSON text, checked: a TypeError says what is wrong with it. */
export function parseVmImageManifest(text: string): VmImageManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TypeError("Cannot read VM image: manifest.json is not JSON");
  }
  const m = value as Partial<VmImageManifest> | null;
  if (!m || typeof m !== "object" || m.format !== VM_IMAGE_FORMAT)
    throw new TypeError(`Cannot read VM image: manifest.json is not ${VM_IMAGE_FORMAT}`);
  if (!m.files || typeof m.files !== "object" || !m.files.kernel)
    throw new TypeError("Cannot read VM image: manifest.json names no kernel");
  for (const [name, file] of Object.entries(m.files)) {
    if (!(VM_IMAGE_FILES as readonly string[]).includes(name))
      throw new TypeError(`Cannot read VM image: unknown file '${name.slice(0, 32)}' in manifest.json`);
    if (!file || !Number.isSafeInteger(file.size) || file.size < 0)
      throw new TypeError(`Cannot read VM image: ${name} has no valid size`);
  }
  if (m.rootfsFormat !== undefined && !(ROOTFS_FORMATS as readonly string[]).includes(m.rootfsFormat))
    throw new TypeError("Cannot read VM image: rootfsFormat must be raw or qcow2");
  if (
    typeof m.cmdline !== "string" ||
    m.cmdline.length > 2048 ||
    findControlCharacter(m.cmdline) !== undefined
  )
    throw new TypeError("Cannot read VM image: cmdline must be text of at most 2048 characters");
  return m as VmImageManifest;
}
