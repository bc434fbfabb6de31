// VM images on this host: each artifact fetched once (agent/apps/artifact-fetch.ts: signed as the host,
// verified, unpacked atomically) into `<state>/vm-images/<sha256>/`, and shared by every VM made from
// it. Only the fixed names of schema/vm-image.ts are read from it, so nothing an image says can name a
// path of its own.
import { readFile, stat } from "node:fs/promises";
import { parseVmImageManifest, type VmImageManifest } from "../../schema/vm-image.ts";
import { VmError } from "./driver.ts";

export interface VmImageFiles {
  kernel: string;
  initrd?: string;
  rootfs?: { path: string; format: "raw" | "qcow2" };
  manifest: VmImageManifest;
}

/** Fetches the image into its directory (unless there already) and reads its manifest. */
export async function prepareImage(
  imagesDir: string,
  sha256: string,
  fetch: (destDir: string) => Promise<void>,
): Promise<VmImageFiles> {
  if (!/^[0-9a-f]{64}$/.test(sha256))
    throw new VmError(`Cannot use image ${sha256.slice(0, 16)}: not a sha256`);
  const dir = `${imagesDir}/${sha256}`;
  const there = await stat(dir).then(
    () => true,
    () => false,
  );
  if (!there) {
    try {
      await fetch(dir);
    } catch (error) {
      throw new VmError(`Cannot fetch the image: ${(error as Error).message}`);
    }
  }
  let manifest: VmImageManifest;
  try {
    manifest = parseVmImageManifest(await readFile(`${dir}/manifest.json`, "utf8"));
  } catch (error) {
    throw new VmError((error as Error).message);
  }
  for (const name of Object.keys(manifest.files)) {
    const s = await stat(`${dir}/${name}`).catch(() => undefined);
    if (!s?.isFile()) throw new VmError(`Cannot read VM image: its ${name} is missing`);
  }
  return {
    kernel: `${dir}/kernel`,
    ...(manifest.files.initrd ? { initrd: `${dir}/initrd` } : {}),
    ...(manifest.files.rootfs
      ? { rootfs: { path: `${dir}/rootfs`, format: manifest.rootfsFormat ?? "raw" } }
      : {}),
    manifest,
  };
}
