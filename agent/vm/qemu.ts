// The QEMU driver: `qemu-system-x86_64 -M q35` with the kernel booted directly, controlled over QMP
// (qmp.ts) on a unix socket in the VM's directory.
//
//   <dir>/qemu.pid       written by QEMU (-pidfile); with -daemonize the hypervisor is not the
//                        agent's child, so it outlives an agent restart or SIGKILL
//   <dir>/qmp.sock       QMP: state, pause/resume, graceful stop, snapshots
//   <dir>/console.sock   the serial console (a chardev socket server the agent attaches to)
//   <dir>/console.log    everything the console printed (QEMU writes it: history with no agent running)
//   <dir>/qemu.log       QEMU's own errors after it daemonized (-D)
//
// Why q35 and not -M microvm: under TCG with Debian's cloud kernel, microvm hangs calibrating the
// TSC (no PIT/HPET reference); q35 boots the same image in a few seconds. KVM is used when it works,
// probed by starting a stopped VM with -accel kvm: /dev/kvm existing is not enough (nested
// virtualisation off aborts QEMU with "failed to set MSR").

import type { Runtime } from "../runtime/index.ts";
import { type Ran, runToEnd } from "../runtime/run-to-end.ts";
import type { DriverProbe, VmConfig, VmDriver, VmInstance, VmRunState } from "./driver.ts";
import { VmError } from "./driver.ts";
import { kvmUsable } from "./kvm.ts";
import { alive, isOurs, readPid, readText, snapshotName, tail, whenGone } from "./process.ts";
import { QmpClient } from "./qmp.ts";

const BINARY = "qemu-system-x86_64";

/** Block node of the VM's disk: snapshots (memory and disk) live inside this qcow2. */
const DISK_NODE = "disk0";

/** The command line that starts the VM in `dir`. */
function qemuArgv(dir: string, config: VmConfig, accel: "kvm" | "tcg", binary = BINARY): string[] {
  const hostfwd = config.ports.map((p) => `,hostfwd=tcp:127.0.0.1:${p.host}-:${p.guest}`).join("");
  // biome-ignore format: one QEMU option per line
  const argv = [
    binary,
    "-name", config.name,
    "-M", `q35,accel=${accel}`, "-cpu", accel === "kvm" ? "host" : "max",
    "-smp", String(config.cpus), "-m", `${config.memoryMiB}M`,
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    "-kernel", config.kernel,
    ...(config.initrd ? ["-initrd", config.initrd] : []),
    "-append", `${config.cmdline} outpost.name=${config.name}`,
    "-chardev", `socket,id=console,path=${dir}/console.sock,server=on,wait=off,logfile=${dir}/console.log,logappend=on`,
    "-serial", "chardev:console",
    ...(config.tap
      ? ["-netdev", `tap,id=net0,ifname=${config.tap.ifname},script=no,downscript=no`,
         "-device", `virtio-net-pci,netdev=net0,mac=${config.tap.mac}`]
      : ["-netdev", `user,id=net0${hostfwd}`, "-device", "virtio-net-pci,netdev=net0"]),
    "-qmp", `unix:${dir}/qmp.sock,server=on,wait=off`,
    "-pidfile", `${dir}/qemu.pid`, "-D", `${dir}/qemu.log`, "-daemonize",
  ];
  if (config.disk) {
    argv.push(
      "-blockdev",
      `driver=file,filename=${config.disk},node-name=${DISK_NODE}-file`,
      "-blockdev",
      `driver=qcow2,file=${DISK_NODE}-file,node-name=${DISK_NODE}`,
      "-device",
      `virtio-blk-pci,drive=${DISK_NODE}`,
    );
  }
  if (config.seed) {
    argv.push("-drive", `file=${config.seed},format=raw,if=virtio,readonly=on`);
  }
  return argv;
}

export class QemuDriver implements VmDriver {
  readonly name = "qemu" as const;
  readonly #runtime: Runtime;
  readonly #binary: string;
  #probe: Promise<DriverProbe> | undefined;

  constructor(runtime: Runtime, binary = BINARY) {
    this.#runtime = runtime;
    this.#binary = binary;
  }

  /** Whether QEMU is on PATH and whether KVM works; measured once per agent. */
  probe(): Promise<DriverProbe> {
    this.#probe ??= this.#measure();
    return this.#probe;
  }

  async start(dir: string, config: VmConfig): Promise<VmInstance> {
    const probe = await this.probe();
    if (!probe.available || !probe.accel) {
      throw new VmError(`Cannot start ${config.name} with qemu: ${probe.reason ?? "unavailable"}`);
    }
    const { code, stderr } = await this.#run(qemuArgv(dir, config, probe.accel, this.#binary));
    // With -daemonize the first process exits once the VM runs, or with the reason it could not start.
    if (code !== 0) {
      // Its errors go to stderr, or to the -D log once it parsed that option.
      const why = tail(stderr) || tail(readText(`${dir}/qemu.log`)) || `exit ${code}`;
      throw new VmError(`QEMU could not start ${config.name}: ${why}`);
    }
    const instance = await this.attach(dir);
    if (!instance)
      throw new VmError(
        `QEMU started ${config.name} but exited at once: ${tail(readText(`${dir}/qemu.log`))}`,
      );
    return instance;
  }

  async attach(dir: string): Promise<VmInstance | undefined> {
    const pid = readPid(`${dir}/qemu.pid`);
    if (!isOurs(pid, `${dir}/qmp.sock`)) return undefined;
    const qmp = await QmpClient.connect(`${dir}/qmp.sock`).catch(() => undefined);
    return qmp ? new QemuInstance(pid, dir, qmp) : undefined;
  }

  async #measure(): Promise<DriverProbe> {
    const version = await this.#run([this.#binary, "--version"]).catch(() => undefined);
    if (version?.code !== 0) {
      return {
        name: "qemu",
        available: false,
        reason: `${this.#binary} is not on PATH (apt-get install qemu-system-x86)`,
      };
    }
    const v = /version (\d+\.\d+\.\d+)/.exec(version.stdout)?.[1];
    const kvm = await kvmUsable(this.#runtime, this.#binary);
    return {
      name: "qemu",
      available: true,
      accel: kvm ? "kvm" : "tcg",
      ...(v ? { version: v } : {}),
    };
  }

  #run(argv: string[], input?: string): Promise<Ran> {
    return runToEnd(this.#runtime, argv, input);
  }
}

class QemuInstance implements VmInstance {
  readonly pid: number;
  readonly consoleSocket: string;
  readonly consoleLog: string;
  readonly exited: Promise<void>;
  readonly #qmp: QmpClient;
  readonly #watch: { gone: Promise<void>; stop(): void };

  constructor(pid: number, dir: string, qmp: QmpClient) {
    this.pid = pid;
    this.consoleSocket = `${dir}/console.sock`;
    this.consoleLog = `${dir}/console.log`;
    this.#qmp = qmp;
    // Not our child: its exit is seen as the pid going away.
    this.#watch = whenGone(pid);
    this.exited = this.#watch.gone;
  }

  async state(): Promise<VmRunState> {
    if (!alive(this.pid)) return "stopped";
    const status = await this.#qmp.execute<{ status: string }>("query-status").catch(() => undefined);
    if (!status) return alive(this.pid) ? "running" : "stopped";
    return status.status === "running" ? "running" : status.status === "shutdown" ? "stopped" : "paused";
  }

  async pause(): Promise<void> {
    await this.#qmp.execute("stop");
  }

  async resume(): Promise<void> {
    await this.#qmp.execute("cont");
  }

  async shutdown(): Promise<void> {
    // q35 has a PS/2 keyboard: the guest's init turns Ctrl-Alt-Del into an orderly poweroff.
    await this.#qmp.execute("send-key", {
      keys: ["ctrl", "alt", "delete"].map((data) => ({ type: "qcode", data })),
    });
    await this.#qmp.execute("system_powerdown").catch(() => {}); // ACPI, for guests that listen to it
  }

  async kill(): Promise<void> {
    await this.#qmp.execute("quit").catch(() => {});
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2_000))]);
    if (alive(this.pid)) process.kill(this.pid, "SIGKILL");
    await this.exited;
  }

  async snapshot(tag: string): Promise<void> {
    return this.#job("snapshot-save", { tag: snapshotName(tag), vmstate: DISK_NODE, devices: [DISK_NODE] });
  }

  async restore(tag: string): Promise<VmInstance> {
    await this.#job("snapshot-load", { tag: snapshotName(tag), vmstate: DISK_NODE, devices: [DISK_NODE] });
    return this;
  }

  async deleteSnapshot(tag: string): Promise<void> {
    await this.#job("snapshot-delete", { tag: snapshotName(tag), devices: [DISK_NODE] });
  }

  detach(): void {
    this.#watch.stop();
    this.#qmp.close();
  }

  /** Runs a QMP job and waits until it concluded, then reports its error, if any. */
  async #job(command: string, args: Record<string, unknown>): Promise<void> {
    const id = `${command}-${Date.now().toString(36)}`;
    const concluded = new Promise<void>((resolve) => {
      const off = this.#qmp.onEvent((e) => {
        if (e.event === "JOB_STATUS_CHANGE" && e.data?.id === id && e.data.status === "concluded") {
          off();
          resolve();
        }
      });
    });
    await this.#qmp.execute(command, { "job-id": id, ...args });
    await concluded;
    const jobs = await this.#qmp.execute<{ id: string; error?: string }[]>("query-jobs");
    await this.#qmp.execute("job-dismiss", { id });
    const error = jobs.find((j) => j.id === id)?.error;
    if (error)
      throw new VmError(`QEMU could not ${command.replace("snapshot-", "")} snapshot ${args.tag}: ${error}`);
  }
}
