// The Cloud Hypervisor driver: one `cloud-hypervisor --api-socket path=<dir>/api.sock` process per
// VM, driven through its REST API (test/specs/cloud-hypervisor.yaml, OpenAPI 3, under
// /api/v1): vm.create with the whole config (payload, cpus, memory, disks, serial to a file),
// vm.boot, vm.pause / vm.resume, vm.power-button (ACPI) to stop, vm.snapshot into a directory and,
// to restore, vm.delete then vm.restore (a monitor restores only when no VM is created) with resume.
//
//   <dir>/vmm.pid  <dir>/api.sock  <dir>/console.log  <dir>/snapshots/<tag>/
//
// Like Firecracker it needs KVM, and its networking is TAP: without --vm-bridge a VM with ports is
// refused, saying so.

import { existsSync, mkdirSync } from "node:fs";
import type { Runtime } from "../runtime/index.ts";
import {
  type DriverProbe,
  type VmConfig,
  type VmDriver,
  VmError,
  type VmInstance,
  type VmRunState,
} from "./driver.ts";
import { kvmUsable } from "./kvm.ts";
import { type MonitorOptions, probeMonitor, refusePortsWithoutBridge, spawnMonitor } from "./monitor.ts";
import { alive, isOurs, readPid, snapshotName, whenGone } from "./process.ts";
import { type ApiAnswer, apiRequest, faultOf } from "./unix-http.ts";

const API = "/api/v1";

export class CloudHypervisorDriver implements VmDriver {
  readonly name = "cloud-hypervisor" as const;
  readonly #runtime: Runtime;
  readonly #binary: string;
  readonly #kvm: () => Promise<boolean>;

  constructor(runtime: Runtime, options: MonitorOptions = {}) {
    this.#runtime = runtime;
    this.#binary = options.binary ?? "cloud-hypervisor";
    this.#kvm = options.kvm ?? (() => kvmUsable(runtime));
  }

  probe(): Promise<DriverProbe> {
    return probeMonitor(this.#runtime, this.name, this.#binary, this.#kvm);
  }

  async start(dir: string, config: VmConfig): Promise<VmInstance> {
    refusePortsWithoutBridge(this.name, config);
    const socket = `${dir}/api.sock`;
    const argv = [this.#binary, "--api-socket", `path=${socket}`];
    const pid = await spawnMonitor(this.#runtime, argv, dir, socket, `${API}/vmm.ping`);
    const disks = [
      ...(config.disk ? [{ path: config.disk, readonly: false }] : []),
      ...(config.seed ? [{ path: config.seed, readonly: true }] : []),
    ];
    await call(socket, "vm.create", {
      payload: {
        kernel: config.kernel,
        cmdline: `${config.cmdline} outpost.name=${config.name}`,
        ...(config.initrd ? { initramfs: config.initrd } : {}),
      },
      cpus: { boot_vcpus: config.cpus, max_vcpus: config.cpus },
      memory: { size: config.memoryMiB * 1024 * 1024 },
      ...(disks.length ? { disks } : {}),
      ...(config.tap ? { net: [{ tap: config.tap.ifname, mac: config.tap.mac }] } : {}),
      serial: { mode: "File", file: `${dir}/console.log` },
      console: { mode: "Off" },
    });
    await call(socket, "vm.boot");
    return new CloudHypervisorInstance(pid, dir);
  }

  async attach(dir: string): Promise<VmInstance | undefined> {
    const pid = readPid(`${dir}/vmm.pid`);
    return isOurs(pid, `${dir}/api.sock`) ? new CloudHypervisorInstance(pid, dir) : undefined;
  }
}

class CloudHypervisorInstance implements VmInstance {
  readonly pid: number;
  readonly consoleSocket = ""; // the serial console goes to consoleLog
  readonly consoleLog: string;
  readonly exited: Promise<void>;
  readonly #dir: string;
  readonly #socket: string;
  readonly #watch: { gone: Promise<void>; stop(): void };

  constructor(pid: number, dir: string) {
    this.pid = pid;
    this.#dir = dir;
    this.#socket = `${dir}/api.sock`;
    this.consoleLog = `${dir}/console.log`;
    this.#watch = whenGone(pid);
    this.exited = this.#watch.gone;
  }

  async state(): Promise<VmRunState> {
    if (!alive(this.pid)) return "stopped";
    const info = await apiRequest(this.#socket, "GET", `${API}/vm.info`).catch(() => undefined);
    const state = (info?.body as { state?: string } | undefined)?.state;
    return state === "Running" ? "running" : state === "Paused" ? "paused" : "stopped";
  }

  async pause(): Promise<void> {
    await call(this.#socket, "vm.pause");
  }

  async resume(): Promise<void> {
    await call(this.#socket, "vm.resume");
  }

  async shutdown(): Promise<void> {
    await call(this.#socket, "vm.power-button");
  }

  async kill(): Promise<void> {
    await call(this.#socket, "vmm.shutdown").catch(() => {});
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2_000))]);
    if (alive(this.pid)) process.kill(this.pid, "SIGKILL");
    await this.exited;
  }

  async snapshot(tag: string): Promise<void> {
    const target = this.#snapshotDir(snapshotName(tag));
    mkdirSync(target, { recursive: true, mode: 0o700 });
    await this.pause();
    try {
      await call(this.#socket, "vm.snapshot", { destination_url: `file://${target}` });
    } finally {
      await this.resume();
    }
  }

  async restore(tag: string): Promise<VmInstance> {
    const source = this.#snapshotDir(snapshotName(tag));
    if (!existsSync(source)) throw new VmError(`There is no snapshot ${tag} of this VM`);
    await call(this.#socket, "vm.delete");
    await call(this.#socket, "vm.restore", { source_url: `file://${source}`, resume: true });
    return this;
  }

  detach(): void {
    this.#watch.stop();
  }

  #snapshotDir(tag: string): string {
    return `${this.#dir}/snapshots/${tag}`;
  }
}

async function call(socket: string, action: string, body?: unknown): Promise<ApiAnswer> {
  const answer = await apiRequest(socket, "PUT", `${API}/${action}`, body);
  if (answer.status >= 300) throw new VmError(`cloud-hypervisor refused ${action}: ${faultOf(answer)}`);
  return answer;
}
