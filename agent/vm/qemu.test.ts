// The QEMU driver with real QEMU (TCG here), under Bun and under Deno: test/agent-harness/qemu-check.ts
// boots the example image (scripts/vm-image) in one process, and a second process re-attaches to
// the still-running VM, as an agent restarted after SIGKILL would, then stops it gracefully.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildVmImage } from "../../scripts/vm-image/build.ts";
import { RUNTIMES, report } from "../../test/agent-harness/processes.ts";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const image = buildVmImage(mkdtempSync(join(tmpdir(), "outpost-qemu-image-")));

describe.each(RUNTIMES)("qemu driver on %s", (runtime) => {
  // biome-ignore lint/suspicious/noExplicitAny: JSON reports, checked field by field below
  let started: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  let attached: Record<string, any>;

  it("boots a VM, pauses, snapshots and restores it, then leaves it running; a new process re-attaches and stops it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-qemu-vm-"));
    mkdirSync(join(dir, "bad"));
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "raw",
      "-b",
      image.rootfs,
      join(dir, "disk.qcow2"),
    ]);
    const env = {
      OUTPOST_VM_DIR: dir,
      OUTPOST_VM_IMAGE: JSON.stringify(image),
      OUTPOST_VM_PORT: String(await freePort()),
    };
    started = await report(runtime, "qemu-check.ts", [], { ...env, OUTPOST_VM_PHASE: "start" });
    attached = await report(runtime, "qemu-check.ts", [], { ...env, OUTPOST_VM_PHASE: "attach" });
    expect(Object.entries({ ...started, ...attached }).filter(([, v]) => v?.threw)).toEqual([]);
  }, 300_000);

  it("finds QEMU and probes KVM for real (it aborts QEMU on this machine: TCG)", () => {
    expect(started.probe).toMatchObject({ name: "qemu", available: true });
    expect(["kvm", "tcg"]).toContain(started.probe.accel);
  });

  it("says why QEMU could not start, with its own words", () => {
    expect(started.badKernel).toMatch(/^VmError: QEMU could not start probe: .*no-such-kernel/);
  });

  it("boots: the marker on the console, HTTP through the port forward", () => {
    expect(started.start).toEqual({ marker: true, body: "hello from probe\n", state: "running" });
  });

  it("pauses (the guest stops answering) and resumes", () => {
    expect(started.pause).toEqual({ state: "paused", answered: false, after: "running" });
  });

  it("restores a snapshot: the guest's counter goes back to where it was", () => {
    const { atSnapshot, later, restored } = started.snapshot;
    expect(later).toBeGreaterThan(atSnapshot + 1);
    expect(restored).toBeGreaterThanOrEqual(atSnapshot);
    expect(restored).toBeLessThan(later);
  });

  it("refuses a snapshot name that is not a name", () => {
    expect(started.badTag).toMatch(/^Cannot use snapshot name/);
  });

  it("re-attaches to the running VM from a new process, then stops it gracefully", () => {
    expect(attached.attach).toEqual({ state: "running", body: "hello from probe\n" });
    expect(attached.shutdown).toEqual({ off: true, announced: true });
  });
});
