// Packing a VM image: the kernel, initrd and rootfs copied under their fixed names (schema/vm-image.ts)
// into a temporary directory with a manifest.json, then packed like any artifact (deterministic tar.gz),
// so pushing the same files twice uploads nothing the second time.
import { constants } from "node:fs";
import { copyFile, mkdtemp, open, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VM_IMAGE_FORMAT, type VmImageManifest } from "../../schema/vm-image.ts";

export interface VmImageFiles {
  kernel: string;
  initrd?: string;
  rootfs?: string;
  cmdline?: string;
}

const QCOW2_MAGIC = [0x51, 0x46, 0x49, 0xfb]; // "QFI\xfb"

async function _isQcow2(path: string): Promise<boolean> {
  const head = new Uint8Array(4);
  const file = await open(path, "r");
  try {
    await file.read(head, 0, 4, 0);
  } finally {
    await file.close();
  }
  return QCOW2_MAGIC.every((b, i) => head[i] === b);
}

/** A directory holding the image's files and manifest; `cleanup` removes it. */
export async function stageVmImage(files: VmImageFiles): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "outpost-vm-image-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const manifest: VmImageManifest = {
      format: VM_IMAGE_FORMAT,
      files: { kernel: { size: 0 } },
      cmdline: files.cmdline ?? "",
    };
    for (const name of ["kernel", "initrd", "rootfs"] as const) {
      const source = files[name];
      if (source === undefined) continue;
      const info = await stat(source).catch(() => undefined);
      if (!info?.isFile()) throw new Error(`cannot read --${name} ${source}: not a file`);
      await copyFile(source, join(dir, name), constants.COPYFILE_FICLONE);
      manifest.files[name] = { size: info.size };
      if (name === "rootfs") manifest.rootfsFormat = (await _isQcow2(source)) ? "qcow2" : "raw";
    }
    await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    return { dir, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
