// Builds the example microVM image from what Debian ships: the kernel of linux-image-cloud-amd64, an
// initramfs of busybox-static plus the virtio modules that kernel has as modules, and a small ext4
// rootfs (e2fsprogs' mke2fs -d). Boots in a few seconds under TCG: network (QEMU user net), HTTP on
// :8080, a counter, a marker on the serial console, and a shell there.

import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type CpioEntry, cpioArchive } from "./cpio.ts";

export interface VmImage {
  kernel: string;
  initrd: string;
  rootfs: string;
  /** The kernel command line the image expects (the VM's name goes in as `outpost.name=`). */
  cmdline: string;
}

// busybox init: the boot script, a shell on the serial console, and an orderly poweroff for
// Ctrl-Alt-Del and SIGUSR2 (the power button's handler sends it) that says so on the console.
const INITTAB = [
  "::sysinit:/etc/rc",
  "ttyS0::respawn:/bin/cttyhack /bin/sh",
  "::ctrlaltdel:/bin/poweroff",
  "::shutdown:/bin/echo OUTPOST-VM-POWEROFF",
  "",
].join("\n");

/** The marker init prints on the console once the VM serves HTTP. */
export const READY_MARKER = "OUTPOST-VM-READY";

const MODULES = [
  "net/core/failover.ko",
  "drivers/net/net_failover.ko",
  "drivers/virtio/virtio.ko",
  "drivers/virtio/virtio_ring.ko",
  "drivers/virtio/virtio_pci_legacy_dev.ko",
  "drivers/virtio/virtio_pci_modern_dev.ko",
  "drivers/virtio/virtio_pci.ko",
  "drivers/virtio/virtio_mmio.ko",
  "drivers/net/virtio_net.ko",
  "drivers/block/virtio_blk.ko",
  "drivers/acpi/button.ko",
  "drivers/input/evdev.ko",
  // vfat, for the NoCloud seed (a vfat disk labelled cidata) the agent gives a VM with user data.
  "fs/fat/fat.ko",
  "fs/fat/vfat.ko",
  "fs/nls/nls_cp437.ko",
  "fs/nls/nls_utf8.ko",
  "fs/nls/nls_ascii.ko",
];

function _fail(what: string, fix: string): never {
  throw new Error(`Cannot build the VM image: ${what}. ${fix}`);
}

/** The newest kernel under /boot with its modules, or a clear error naming the package. */
function _kernel(): { vmlinuz: string; modules: string } {
  const versions = existsSync("/boot")
    ? readdirSync("/boot")
        .filter((f) => f.startsWith("vmlinuz-"))
        .map((f) => f.slice("vmlinuz-".length))
        .filter((v) => existsSync(`/lib/modules/${v}`))
        .sort()
    : [];
  const version = versions.at(-1);
  if (!version) _fail("no kernel in /boot", "Install one: apt-get install linux-image-cloud-amd64");
  return { vmlinuz: `/boot/vmlinuz-${version}`, modules: `/lib/modules/${version}/kernel` };
}

/** Writes vmlinuz, initramfs.cpio.gz and rootfs.ext4 into `outDir` and returns their paths. */
export function buildVmImage(outDir: string): VmImage {
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
  if (!busybox) _fail("busybox is missing", "Install it: apt-get install busybox-static");
  const { vmlinuz, modules } = _kernel();
  mkdirSync(outDir, { recursive: true });

  const entries: CpioEntry[] = ["bin", "dev", "proc", "sys", "etc", "tmp", "lib", "lib/modules"].map((d) => ({
    path: d,
    type: "dir",
    mode: 0o755,
  }));
  entries.push({ path: "bin/busybox", type: "file", mode: 0o755, data: readFileSync(busybox) });
  entries.push({ path: "bin/sh", type: "symlink", mode: 0o777, data: "busybox" });
  entries.push({ path: "init", type: "symlink", mode: 0o777, data: "bin/busybox" });
  entries.push({
    path: "etc/rc",
    type: "file",
    mode: 0o755,
    data: readFileSync(new URL("init.sh", import.meta.url)),
  });
  entries.push({ path: "etc/inittab", type: "file", mode: 0o644, data: INITTAB });
  for (const m of MODULES) {
    const path = join(modules, m);
    if (!existsSync(path)) continue; // built into this kernel rather than a module
    entries.push({
      path: `lib/modules/${m.split("/").at(-1)}`,
      type: "file",
      mode: 0o644,
      data: readFileSync(path),
    });
  }
  const initrd = join(outDir, "initramfs.cpio.gz");
  writeFileSync(initrd, gzipSync(cpioArchive(entries)));
  const kernel = join(outDir, "vmlinuz");
  copyFileSync(vmlinuz, kernel);

  const rootfs = join(outDir, "rootfs.ext4");
  const content = mkdtempSync(join(tmpdir(), "outpost-rootfs-"));
  try {
    writeFileSync(
      join(content, "README"),
      "The example VM's disk: each VM writes to its own overlay of it.\n",
    );
    rmSync(rootfs, { force: true });
    execFileSync("mke2fs", ["-q", "-t", "ext4", "-L", "outpost-root", "-d", content, rootfs, "16M"], {
      stdio: "pipe",
    });
  } catch (error) {
    _fail(
      `mke2fs failed (${(error as Error).message.split("\n")[0]})`,
      "Install e2fsprogs: apt-get install e2fsprogs",
    );
  } finally {
    rmSync(content, { recursive: true, force: true });
  }
  return { kernel, initrd, rootfs, cmdline: "console=ttyS0 panic=-1 quiet" };
}
