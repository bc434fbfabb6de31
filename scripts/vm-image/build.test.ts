// The example VM image, booted for real: QEMU under TCG (this machine has /dev/kvm but KVM aborts
// QEMU: "failed to set MSR 0x10a"; the agent's driver must probe KVM, not trust the device) with the
// kernel, initramfs and a copy-on-write overlay of the rootfs that build.ts wrote; the guest must print
// its marker on the serial console, answer HTTP through a user-net port forward and count.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildVmImage, READY_MARKER } from "./build.ts";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function until<T>(
  what: string,
  ms: number,
  fn: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("the example VM image", () => {
  const dir = mkdtempSync(join(tmpdir(), "outpost-vm-image-"));
  let qemu: ChildProcess | undefined;
  afterAll(() => {
    qemu?.kill("SIGKILL");
  });

  it("boots under QEMU, prints its marker, serves HTTP on :8080 and counts", async () => {
    const image = buildVmImage(dir);
    for (const f of [image.kernel, image.initrd, image.rootfs]) expect(existsSync(f)).toBe(true);
    const overlay = join(dir, "vm.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", image.rootfs, overlay]);
    const port = await freePort();
    const log = join(dir, "console.log");
    // biome-ignore format: one QEMU option per line
    qemu = spawn("qemu-system-x86_64", [
      "-M", "q35,accel=tcg", "-cpu", "max", "-m", "256", "-smp", "1",
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-kernel", image.kernel, "-initrd", image.initrd, "-append", `${image.cmdline} outpost.name=probe`,
      "-chardev", `file,id=con,path=${log}`, "-serial", "chardev:con",
      "-netdev", `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:8080`, "-device", "virtio-net-pci,netdev=n0",
      "-drive", `id=d0,file=${overlay},format=qcow2,if=none`, "-device", "virtio-blk-pci,drive=d0",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    await until("the marker on the console", 90_000, () =>
      existsSync(log) && readFileSync(log, "utf8").includes(`${READY_MARKER} probe`) ? true : undefined,
    );
    const body = await until("HTTP from the guest", 30_000, async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return res?.ok ? res.text() : undefined;
    });
    expect(body).toBe("hello from probe\n");
    const count = async () => Number(await (await fetch(`http://127.0.0.1:${port}/counter`)).text());
    const first = await count();
    await until("the counter to move", 10_000, async () => ((await count()) > first ? true : undefined));
  }, 150_000);
});
