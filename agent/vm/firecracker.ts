// The Firecracker driver: one `firecracker --api-sock <dir>/api.sock` process per VM, configured and
// driven through its REST API (test/specs/firecracker.yaml, Swagger 2.0, API 1.17): logger and
// serial output to files in the VM's directory, boot source, machine config, drives, then
// InstanceStart; PATCH /vm to pause and resume; SendCtrlAltDel to stop; snapshots with
// /snapshot/create (paused) and /snapshot/load (into a fresh process, before any boot config).
//
//   <dir>/vmm.pid  <dir>/api.sock  <dir>/console.log  <dir>/firecracker.log  <dir>/snapshots/<tag>.{vm,mem}
//
// Firecracker needs KVM (it has no emulation) and has no user-mode networking: a VM's ports need a
// TAP device (the agent's --vm-bridge), so without one a VM with ports is refused, saying so.

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

export class FirecrackerDriver implements VmDriver {
  readonly name = "firecracker" as const;
  readonly #runtime: Runtime;
  readonly #binary: string;
  readonly #kvm: () => Promise<boolean>;

  constructor(runtime: Runtime, options: MonitorOptions = {}) {
    this.#runtime = runtime;
    this.#binary = options.binary ?? "firecracker";
    this.#kvm = options.kvm ?? (() => kvmUsable(runtime));
  }

  probe(): Promise<DriverProbe> {
    return probeMonitor(this.#runtime, this.name, this.#binary, this.#kvm);
  }

  async start(dir: string, config: VmConfig): Promise<VmInstance> {
    refusePortsWithoutBridge(this.name, config);
    const instance = await this.#spawn(dir);
    const api = (method: string, path: string, body?: unknown) => call(instance.socket, method, path, body);
    await api("PUT", "/logger", { log_path: `${dir}/firecracker.log`, level: "Warning" });
    await api("PUT", "/serial", { serial_out_path: `${dir}/console.log` });
    await api("PUT", "/boot-source", {
      kernel_image_path: config.kernel,
      boot_args: `${config.cmdline} outpost.name=${config.name}`,
      ...(config.initrd ? { initrd_path: config.initrd } : {}),
    });
    await api("PUT", "/machine-config", { vcpu_count: config.cpus, mem_size_mib: config.memoryMiB });
    if (config.disk) {
      await api("PUT", "/drives/disk0", {
        drive_id: "disk0",
        path_on_host: config.disk,
        is_root_device: false,
        is_read_only: false,
      });
    }
    if (config.seed) {
      await api("PUT", "/drives/seed", {
        drive_id: "seed",
        path_on_host: config.seed,
        is_root_device: false,
        is_read_only: true,
      });
    }
    if (config.tap) {
      await api("PUT", "/network-interfaces/net0", {
        iface_id: "net0",
        host_dev_name: config.tap.ifname,
        guest_mac: config.tap.mac,
      });
    }
    await api("PUT", "/actions", { action_type: "InstanceStart" });
    return instance;
  }

  async attach(dir: string): Promise<VmInstance | undefined> {
    const pid = readPid(`${dir}/vmm.pid`);
    if (!isOurs(pid, `${dir}/api.sock`)) return undefined;
    return new FirecrackerInstance(pid, dir, this);
  }

  /** A new monitor process for `dir`, not yet configured: for start, and for restoring a snapshot. */
  async #spawn(dir: string): Promise<FirecrackerInstance> {
    const socket = `${dir}/api.sock`;
    const argv = [this.#binary, "--api-sock", socket, "--id", "vm"];
    return new FirecrackerInstance(await spawnMonitor(this.#runtime, argv, dir, socket, "/"), dir, this);
  }

  /** Used by restore: the monitor that loads a snapshot must be a fresh one. */
  respawn(dir: string): Promise<FirecrackerInstance> {
    return this.#spawn(dir);
  }
}

class FirecrackerInstance implements VmInstance {
  readonly pid: number;
  readonly socket: string;
  readonly consoleSocket = ""; // Firecracker's serial is output only: see consoleLog
  readonly consoleLog: string;
  readonly exited: Promise<void>;
  readonly #dir: string;
  readonly #driver: FirecrackerDriver;
  readonly #watch: { gone: Promise<void>; stop(): void };

  constructor(pid: number, dir: string, driver: FirecrackerDriver) {
    this.pid = pid;
    this.#dir = dir;
    this.#driver = driver;
    this.socket = `${dir}/api.sock`;
    this.consoleLog = `${dir}/console.log`;
    this.#watch = whenGone(pid);
    this.exited = this.#watch.gone;
  }

  async state(): Promise<VmRunState> {
    if (!alive(this.pid)) return "stopped";
    const info = await apiRequest(this.socket, "GET", "/").catch(() => undefined);
    const state = (info?.body as { state?: string } | undefined)?.state;
    return state === "Running" ? "running" : state === "Paused" ? "paused" : "stopped";
  }

  async pause(): Promise<void> {
    await call(this.socket, "PATCH", "/vm", { state: "Paused" });
  }

  async resume(): Promise<void> {
    await call(this.socket, "PATCH", "/vm", { state: "Resumed" });
  }

  async shutdown(): Promise<void> {
    await call(this.socket, "PUT", "/actions", { action_type: "SendCtrlAltDel" });
  }

  async kill(): Promise<void> {
    if (alive(this.pid)) process.kill(this.pid, "SIGKILL");
    await this.exited;
  }

  async snapshot(tag: string): Promise<void> {
    const base = this.#snapshotBase(snapshotName(tag));
    mkdirSync(`${this.#dir}/snapshots`, { recursive: true, mode: 0o700 });
    await this.pause();
    try {
      await call(this.socket, "PUT", "/snapshot/create", {
        snapshot_type: "Full",
        snapshot_path: `${base}.vm`,
        mem_file_path: `${base}.mem`,
      });
    } finally {
      await this.resume();
    }
  }

  async restore(tag: string): Promise<VmInstance> {
    const base = this.#snapshotBase(snapshotName(tag));
    if (!existsSync(`${base}.vm`)) throw new VmError(`There is no snapshot ${tag} of this VM`);
    // A snapshot loads only into a monitor that has not booted: end this one, start a fresh one.
    await this.kill();
    const fresh = await this.#driver.respawn(this.#dir);
    await call(fresh.socket, "PUT", "/snapshot/load", {
      snapshot_path: `${base}.vm`,
      mem_backend: { backend_type: "File", backend_path: `${base}.mem` },
      resume_vm: true,
    });
    return fresh;
  }

  detach(): void {
    this.#watch.stop();
  }

  #snapshotBase(tag: string): string {
    return `${this.#dir}/snapshots/${tag}`;
  }
}

async function call(socket: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const answer = await apiRequest(socket, method, path, body);
  if (answer.status >= 300) throw new VmError(`firecracker refused ${method} ${path}: ${faultOf(answer)}`);
  return answer;
}
