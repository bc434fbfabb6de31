// A VM's own files beside its image: the copy-on-write disk and the NoCloud seed. Each is made once in
// the VM's directory (a restart keeps them; rm deletes the directory) by the Debian tools the host has:
// qemu-img (qemu-utils) for the overlay, mkfs.vfat (dosfstools) and mcopy (mtools) for the seed. argv
// arrays only: no shell ever sees a path or the user data.
import { existsSync } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import type { Runtime } from "../runtime/index.ts";
import { type Ran, runToEnd } from "../runtime/run-to-end.ts";
import { VmError } from "./driver.ts";
import { tail } from "./process.ts";
import type { TapConfig } from "./tap.ts";

async function _run(runtime: Runtime, argv: string[], what: string, fix: string): Promise<void> {
  let ran: Ran;
  try {
    ran = await runToEnd(runtime, argv);
  } catch {
    throw new VmError(`Cannot make ${what}: ${argv[0]} is not on PATH (${fix})`);
  }
  if (ran.code !== 0)
    throw new VmError(
      `Cannot make ${what}: ${tail(ran.stderr || ran.stdout) || `${argv[0]} exit ${ran.code}`}`,
    );
}

/**
 * `<dir>/disk.qcow2`: a qcow2 overlay of the image's rootfs (many VMs share one base; rm deletes only
 * this), grown to `diskMiB` when that is larger; a blank qcow2 of `diskMiB` (1 GiB when 0) when the image
 * has no rootfs. QEMU keeps the VM's snapshots inside it.
 */
export async function makeDisk(
  runtime: Runtime,
  dir: string,
  base: { path: string; format: "raw" | "qcow2" } | undefined,
  diskMiB: number,
): Promise<string> {
  const disk = `${dir}/disk.qcow2`;
  if (existsSync(disk)) return disk;
  const partial = `${dir}/disk.qcow2.partial`;
  await rm(partial, { force: true });
  const fix = "apt-get install qemu-utils";
  if (base) {
    const baseMiB = Math.ceil((await stat(base.path)).size / 2 ** 20);
    const size = diskMiB > baseMiB ? [`${diskMiB}M`] : [];
    await _run(
      runtime,
      ["qemu-img", "create", "-q", "-f", "qcow2", "-F", base.format, "-b", base.path, partial, ...size],
      "the VM's disk",
      fix,
    );
  } else {
    await _run(
      runtime,
      ["qemu-img", "create", "-q", "-f", "qcow2", partial, `${diskMiB || 1024}M`],
      "the VM's disk",
      fix,
    );
  }
  // Renamed into place only once whole: a crash mid-way leaves no half-made disk to boot from.
  await rename(partial, disk);
  return disk;
}

/**
 * `<dir>/seed.img`: a NoCloud seed (cloud-init's datasource), a small vfat image labelled `cidata` with
 * `user-data` as given and a `meta-data` naming the instance. Made again when the user data changed.
 */
export async function makeSeed(
  runtime: Runtime,
  dir: string,
  userData: Uint8Array,
  meta: { instanceId: string; hostname: string; network?: TapConfig },
): Promise<string> {
  const seed = `${dir}/seed.img`;
  const src = `${dir}/seed`;
  await rm(src, { recursive: true, force: true });
  await mkdir(src, { mode: 0o700 });
  await writeFile(`${src}/user-data`, userData);
  await writeFile(`${src}/meta-data`, `instance-id: ${meta.instanceId}\nlocal-hostname: ${meta.hostname}\n`);
  const files = [`${src}/user-data`, `${src}/meta-data`];
  if (meta.network) {
    await writeFile(`${src}/network-config`, networkConfig(meta.network));
    files.push(`${src}/network-config`);
  }
  const partial = `${seed}.partial`;
  await rm(partial, { force: true });
  const fix = "apt-get install dosfstools mtools";
  // 1 MiB is plenty: user data is at most 16 KiB (MAX_USER_DATA).
  await _run(runtime, ["mkfs.vfat", "-n", "cidata", "-C", partial, "1024"], "the NoCloud seed", fix);
  await _run(runtime, ["mcopy", "-i", partial, ...files, "::"], "the NoCloud seed", fix);
  await rename(partial, seed);
  await rm(src, { recursive: true, force: true });
  return seed;
}

/**
 * The NoCloud `network-config` (cloud-init's network config version 2, netplan's format) for a VM on
 * the bridge: the NIC matched by its MAC, a static address, the bridge as gateway.
 */
export function networkConfig(tap: TapConfig): string {
  return [
    "version: 2",
    "ethernets:",
    "  eth0:",
    "    match:",
    `      macaddress: "${tap.mac}"`,
    "    set-name: eth0",
    `    addresses: ["${tap.address}/${tap.prefix}"]`,
    `    gateway4: ${tap.gateway}`,
    "",
  ].join("\n");
}
