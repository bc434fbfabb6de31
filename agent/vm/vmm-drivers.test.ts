// The Firecracker and Cloud Hypervisor drivers, under Bun and Deno, against FAKE monitors
// (test/agent-harness/fake-vmm.ts) that check every request against the projects' published API
// specs: neither monitor runs without KVM, which this machine lacks. test/agent-harness/vmm-check.ts
// drives the lifecycle; this file checks its report and the fake's request log.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, RUNTIMES, report, start } from "../../test/agent-harness/processes.ts";

const KINDS = ["firecracker", "cloud-hypervisor"] as const;

/** Installs the fake as an executable named after the monitor, the way a driver finds the real one. */
function installFake(kind: (typeof KINDS)[number]): string {
  const bin = join(mkdtempSync(join(tmpdir(), "outpost-fake-vmm-")), kind);
  const fake = join(ROOT, "test/agent-harness/fake-vmm.ts");
  writeFileSync(bin, `#!/bin/sh\nexec "${join(ROOT, "node_modules/.bin/bun")}" "${fake}" ${kind} "$@"\n`);
  chmodSync(bin, 0o755);
  return bin;
}

function requests(
  dir: string,
): { method: string; path: string; valid: boolean; errors?: string[]; status: number; body?: unknown }[] {
  return readFileSync(join(dir, "api.sock.requests.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

function put(socketPath: string, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method: "PUT", path, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe.each(KINDS)("%s driver", (kind) => {
  const bin = installFake(kind);

  it("the fake refuses what its spec refuses (so the driver tests below can fail)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-fake-probe-"));
    const socket = join(dir, "api.sock");
    const fake = start(
      "bun",
      join(ROOT, "test/agent-harness/fake-vmm.ts"),
      kind === "firecracker" ? [kind, "--api-sock", socket] : [kind, "--api-socket", `path=${socket}`],
    );
    try {
      const bad =
        kind === "firecracker"
          ? ["/machine-config", '{"vcpu_count":"two","mem_size_mib":256}']
          : ["/api/v1/vm.create", '{"cpus":{"boot_vcpus":1}}'];
      for (let i = 0; i < 100; i++) {
        if (await put(socket, "/nowhere", "{}").catch(() => 0)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await put(socket, bad[0]!, bad[1]!)).toBe(400);
      const log = requests(dir);
      expect(log.at(-1)).toMatchObject({ valid: false, status: 400 });
      expect(log.at(-1)!.errors!.join(" ")).toMatch(
        kind === "firecracker" ? /vcpu_count must be integer/ : /payload|max_vcpus/,
      );
    } finally {
      await fake.stop();
    }
  });

  describe.each(RUNTIMES)("on %s", (runtime) => {
    // biome-ignore lint/suspicious/noExplicitAny: a JSON report, checked field by field below
    let r: Record<string, any>;
    const dir = mkdtempSync(join(tmpdir(), `outpost-${kind}-vm-`));

    it("drives the VM's whole life through the API", async () => {
      mkdirSync(dir, { recursive: true });
      r = await report(runtime, "vmm-check.ts", [], {
        OUTPOST_VMM_KIND: kind,
        OUTPOST_VMM_BIN: bin,
        OUTPOST_VM_DIR: dir,
      });
      expect(Object.entries(r).filter(([, v]) => v?.threw)).toEqual([]);
    }, 60_000);

    it("offers the driver only where KVM works", () => {
      expect(r.probe).toMatchObject({ name: kind, available: true, accel: "kvm" });
      expect(r.probeWithoutKvm).toMatchObject({ available: false, reason: "KVM does not work on this host" });
    });

    it("refuses ports without a TAP bridge, saying what to do", () => {
      expect(r.ports).toMatch(/^VmError: Cannot forward ports of probe with .*--vm-bridge/);
    });

    it("on a bridge, hands the monitor the VM's TAP and MAC, as its spec says", () => {
      expect(r.tap).toEqual({ state: "running" });
      const log = requests(join(dir, "tap"));
      expect(log.filter((l) => !l.valid)).toEqual([]);
      const sent = log.find(
        (l) => l.path === (kind === "firecracker" ? "/network-interfaces/net0" : "/api/v1/vm.create"),
      );
      expect(sent?.body).toMatchObject(
        kind === "firecracker"
          ? { iface_id: "net0", host_dev_name: "op0123456789ab", guest_mac: "52:54:00:12:34:56" }
          : { net: [{ tap: "op0123456789ab", mac: "52:54:00:12:34:56" }] },
      );
    });

    it("boots, is found again from its directory, pauses and resumes", () => {
      expect(r.start).toEqual({ state: "running", booted: true });
      expect(r.attach).toEqual({ pid: true, state: "running" });
      expect(r.pause).toEqual(["paused", "running"]);
    });

    it("snapshots and restores, running again afterwards", () => {
      expect(r.snapshot).toEqual({ after: "running", restored: "running" });
      expect(r.missingSnapshot).toMatch(/There is no snapshot nope/);
      expect(r.badName).toMatch(/Cannot use snapshot name/);
    });

    it("stops gracefully: the guest powers off and the monitor is gone", () => {
      expect(r.shutdown).toEqual({ off: true, announced: true, attach: true });
    });

    it("sent only requests the spec allows, each answered with success", () => {
      const log = requests(dir);
      expect(log.filter((l) => !l.valid)).toEqual([]);
      expect(log.filter((l) => l.status >= 300 && !(l.method === "GET"))).toEqual([]);
      const puts = log.filter((l) => l.method !== "GET").map((l) => `${l.method} ${l.path}`);
      expect(puts).toEqual(
        kind === "firecracker"
          ? [
              "PUT /logger",
              "PUT /serial",
              "PUT /boot-source",
              "PUT /machine-config",
              "PUT /drives/disk0",
              "PUT /actions",
              "PATCH /vm",
              "PATCH /vm",
              "PATCH /vm",
              "PUT /snapshot/create",
              "PATCH /vm",
              "PUT /snapshot/load",
              "PUT /actions",
            ]
          : [
              "PUT /api/v1/vm.create",
              "PUT /api/v1/vm.boot",
              "PUT /api/v1/vm.pause",
              "PUT /api/v1/vm.resume",
              "PUT /api/v1/vm.pause",
              "PUT /api/v1/vm.snapshot",
              "PUT /api/v1/vm.resume",
              "PUT /api/v1/vm.delete",
              "PUT /api/v1/vm.restore",
              "PUT /api/v1/vm.power-button",
            ],
      );
    });
  });
});
