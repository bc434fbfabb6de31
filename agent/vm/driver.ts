// The one interface every microVM driver fills in (qemu.ts; firecracker.ts and cloud-hypervisor.ts
// follow the same shape). A driver turns a VM's config into a running hypervisor process that
// outlives the agent (each VM has its own directory holding its sockets, pid file and logs), finds it
// again from that directory after an agent restart, and maps the lifecycle verbs onto the
// hypervisor's own API (QMP, or the REST APIs on unix sockets).

import type { TapConfig } from "./tap.ts";

export type DriverName = "qemu" | "firecracker" | "cloud-hypervisor";

/** What a host offers: reported in host facts, so `outpost hosts` can say which drivers exist. */
export interface DriverProbe {
  name: DriverName;
  available: boolean;
  /** How guests run: "kvm" when /dev/kvm works, "tcg" (emulation, QEMU only) otherwise. */
  accel?: "kvm" | "tcg";
  version?: string;
  /** Why the driver is unavailable, for the person reading host facts. */
  reason?: string;
}

export interface PortForward {
  /** The guest's TCP port. */
  guest: number;
  /** The host loopback port that reaches it (the agent picks a free one). */
  host: number;
}

export interface VmConfig {
  /** The VM's name: also on the kernel command line (`outpost.name=`) for minimal images. */
  name: string;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd?: string;
  cmdline: string;
  /** The VM's own copy-on-write disk (a qcow2 overlay of its image's rootfs). */
  disk?: string;
  /** A NoCloud seed image (label cidata: user-data, meta-data). */
  seed?: string;
  /** Loopback forwards (user-mode networking); empty on a bridge, where ports are the guest's own. */
  ports: PortForward[];
  /** The VM's TAP on the agent's --vm-bridge (tap.ts); absent: user-mode networking. */
  tap?: TapConfig;
}

/** The hypervisor's view: what `vm ls` turns into started / stopped / … */
export type VmRunState = "running" | "paused" | "stopped";

export interface VmInstance {
  /** The hypervisor process. */
  readonly pid: number;
  /** The serial console: a unix socket to read and write it, and the file QEMU logs it to. */
  readonly consoleSocket: string;
  readonly consoleLog: string;
  state(): Promise<VmRunState>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Asks the guest to power off (Ctrl-Alt-Del / ACPI); resolves once asked, not once it is off. */
  shutdown(): Promise<void>;
  /** Ends the hypervisor at once. */
  kill(): Promise<void>;
  /** Saves the running VM (memory and disk) as `tag`; it goes on running. */
  snapshot(tag: string): Promise<void>;
  /**
   * Puts the VM back where snapshot `tag` was, running. Resolves with the instance to use from now
   * on: the same one, or, where the monitor must be replaced to load a snapshot (Firecracker), the
   * new process's.
   */
  restore(tag: string): Promise<VmInstance>;
  /** Deletes snapshot `tag` (where the driver can; undefined where it cannot). */
  deleteSnapshot?(tag: string): Promise<void>;
  /** Resolves when the hypervisor process is gone. */
  readonly exited: Promise<void>;
  /** Lets go of the control socket; the VM keeps running. */
  detach(): void;
}

export interface VmDriver {
  readonly name: DriverName;
  probe(): Promise<DriverProbe>;
  /** Starts the VM in `dir` (created by the caller, the agent's state dir below it). */
  start(dir: string, config: VmConfig): Promise<VmInstance>;
  /** The VM still running from `dir` (after an agent restart), or undefined when none is. */
  attach(dir: string): Promise<VmInstance | undefined>;
}

/** Thrown when a VM cannot be started or driven; the message says what failed and what to do. */
export class VmError extends Error {
  override name = "VmError";
}
