// One microVM on this host, reconciled from its workload (schema/protocol/workloads.ts VmSpec): its
// image fetched, its disk and seed made, the hypervisor started with a driver, its ports served as host
// services, stopped gracefully, paused, snapshotted and restored. Everything a VM does goes through one
// queue, so a stop, a start and a snapshot never interleave.
//
// LAYOUT (the console stream reads it; keep it exactly): `<identity stateDir>/vms/<vm name>/` is the
// directory given to driver.start(dir, …) / driver.attach(dir), and it holds a one-line file `driver`
// naming the driver (`qemu`, `firecracker`, `cloud-hypervisor`). Beside the driver's own files:
//
//   state.json    what this agent last did: id, generation, desired, spec, ports, snapshots (re-adoption)
//   disk.qcow2    the VM's copy-on-write disk (qemu-img overlay of the image's rootfs)
//   seed.img      the NoCloud seed, when the VM has user data
//
// States as Fly Machines name them: created → starting → started ⇄ paused; stopping → stopped;
// failed (could not start, or the hypervisor exited at boot: the tail of its log in the message);
// destroyed (rm: the directory is gone).
import { Buffer } from "node:buffer";
import { mkdir, readFile, rm } from "node:fs/promises";
import { SERVICE_NAME_PATTERN } from "../../schema/names.ts";
import type {
  ActionResult,
  Unsequenced,
  VmDriverName,
  VmRunSpec,
  VmState,
  VmStatus,
  Workload,
  WorkloadStatusFrame,
} from "../../schema/protocol/index.ts";
import type { ActionLedger } from "../action-ledger.ts";
import { oneLine } from "../errors.ts";
import type { Runtime } from "../runtime/index.ts";
import { makeDisk, makeSeed } from "./disks.ts";
import { type DriverProbe, type PortForward, type VmDriver, VmError, type VmInstance } from "./driver.ts";
import { prepareImage } from "./images.ts";
import { readText, tail } from "./process.ts";
import {
  allocateAddress,
  type Bridge,
  ensureTap,
  guestMac,
  kernelIpArg,
  removeTap,
  type TapConfig,
  tapName,
} from "./tap.ts";

export interface VmContext {
  runtime: Runtime;
  /** `<state>/vms` */
  vmsDir: string;
  /** `<state>/vm-images` */
  imagesDir: string;
  log(line: string): void;
  report(status: Unsequenced<WorkloadStatusFrame>): void;
  /** The host service `name` now leads to `target` (`address:port`; undefined: gone). */
  setService(name: string, target: string | undefined): void;
  /** The agent's --vm-bridge, when it has one: VMs get a TAP on it instead of user-mode networking. */
  bridge?: Bridge;
  /** The bridge addresses the other VMs of this host hold. */
  takenAddresses(except: string): Set<string>;
  /** Fetches the image's artifact into `dir` (nothing at `dir` unless it all worked). */
  fetchImage(artifact: { sha256: string; size: number }, dir: string): Promise<void>;
  /** The drivers, each with its probe (measured once per agent). */
  drivers(): Promise<{ driver: VmDriver; probe: DriverProbe }[]>;
  ledger: ActionLedger;
  /** A VM started, stopped, was re-adopted or restored: the console follows its instance. */
  changed(name: string): void;
  /** The VM is destroyed: forget it. */
  gone(name: string): void;
}

/** What is on disk for a VM: enough to re-adopt it, or start it again, after the agent restarts. */
interface Persisted {
  id: string;
  generation: number;
  desired: Workload["desired"];
  spec: Omit<VmRunSpec, "userData"> & { userData?: string };
  artifact: { sha256: string; size: number };
  tenant: string;
  ports: PortForward[];
  /** The guest's address on the bridge: allocated once, kept for the VM's life (tap.ts). */
  address?: string;
  snapshots: { name: string; at: number }[];
}

/** A hypervisor that exits this soon after it started "exited at boot": failed, not stopped. */
const BOOT_WINDOW_MS = 15_000;

/** `<vmsDir>/<name>`, refusing any name that is not a service name (so never `..`, `/` or empty). */
export function vmDir(vmsDir: string, name: string): string {
  if (!SERVICE_NAME_PATTERN.test(name) || name.includes(".."))
    throw new RangeError(`Cannot use VM name ${JSON.stringify(name).slice(0, 80)}: not a service name`);
  return `${vmsDir}/${name}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Vm {
  readonly name: string;
  readonly dir: string;
  readonly #ctx: VmContext;
  #saved: Persisted | undefined;
  #instance: VmInstance | undefined;
  #state: VmState = "created";
  #since = Date.now();
  #startedAt = 0;
  #message: string | undefined;
  #driver: VmDriverName | undefined;
  #ports: PortForward[] = [];
  #address: string | undefined;
  #snapshots: { name: string; at: number }[] = [];
  #actions: ActionResult[] = [];
  #queue: Promise<void> = Promise.resolve();

  constructor(name: string, ctx: VmContext) {
    this.dir = vmDir(ctx.vmsDir, name);
    this.name = name;
    this.#ctx = ctx;
  }

  // ## Entry points

  /** The guest's address on the bridge, once it has one. */
  get address(): string | undefined {
    return this.#address;
  }

  /** The running instance, if any (the console stream follows it). */
  get instance(): VmInstance | undefined {
    return this.#instance;
  }

  /**
   * Re-adopts what a previous agent left (state.json): a VM still running is attached without a
   * restart; one that should run but does not (the host rebooted) is started again.
   */
  async adopt(): Promise<boolean> {
    const saved = await _readJson<Persisted>(`${this.dir}/state.json`);
    if (!saved) return false;
    this.#saved = saved;
    this.#snapshots = saved.snapshots ?? [];
    this.#address = saved.address;
    const driverName = readText(`${this.dir}/driver`).trim() as VmDriverName;
    const found = (await this.#ctx.drivers()).find((d) => d.driver.name === driverName);
    const instance = found ? await found.driver.attach(this.dir).catch(() => undefined) : undefined;
    if (instance) {
      this.#driver = driverName;
      this.#ports = saved.ports;
      this.#instance = instance;
      this.#startedAt = 0; // not started by us: an exit now is not "at boot"
      this.#set((await instance.state().catch(() => "running")) === "paused" ? "paused" : "started");
      this.#ctx.log(`vm ${this.name}: re-attached (pid ${instance.pid})`);
      this.#serve();
      this.#watch(instance);
      this.#ctx.changed(this.name);
    } else if (saved.desired === "running") {
      this.#ctx.log(`vm ${this.name}: was not running when the agent started; starting it again`);
      void this.#enqueue(() => this.#start());
    } else {
      this.#set("stopped");
    }
    return true;
  }

  /** The control plane's desired state for this VM. */
  apply(w: Workload<VmRunSpec>): Promise<void> {
    return this.#enqueue(() => this.#apply(w));
  }

  /** Sends what this VM looks like now. */
  report(): void {
    const saved = this.#saved;
    if (!saved) return;
    const vm: VmStatus = {
      state: this.#state,
      ...(this.#driver ? { driver: this.#driver } : {}),
      ...(this.#instance ? { pid: this.#instance.pid } : {}),
      ports: this.#instance ? this.#ports : [],
      ...(this.#address ? { address: this.#address } : {}),
      snapshots: this.#snapshots.slice(-32),
      since: this.#since,
    };
    this.#ctx.report({
      t: "workload.status",
      id: saved.id,
      generation: saved.generation,
      instances: [],
      ...(this.#message ? { message: this.#message } : {}),
      actions: this.#actions.slice(-16),
      vm,
    });
  }

  /** The agent is shutting down: the VM keeps running; only our hold on its control socket goes. */
  detach(): void {
    this.#instance?.detach();
  }

  // ## Reconciling

  #enqueue(job: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(job).catch((error) => {
      this.#message = `internal error: ${_why(error)}`;
      this.#ctx.log(`vm ${this.name}: ${this.#message}`);
      this.report();
    });
    this.#queue = next;
    return next;
  }

  async #apply(w: Workload<VmRunSpec>): Promise<void> {
    const changed = w.generation !== this.#saved?.generation || w.id !== this.#saved.id;
    const before = this.#saved;
    this.#saved = {
      id: w.id,
      generation: w.generation,
      desired: w.desired,
      tenant: w.tenant,
      spec: _storedSpec(w.spec),
      artifact: { sha256: Buffer.from(w.artifact.sha256).toString("hex"), size: w.artifact.size },
      ports: this.#ports,
      ...(this.#address ? { address: this.#address } : {}),
      snapshots: this.#snapshots,
    };
    if (changed) {
      this.#actions = [];
      if (w.desired === "running") {
        if (!this.#instance) await this.#start();
        else if (this.#state === "failed" || before?.desired !== "running") this.report();
      } else if (w.desired === "stopped") {
        await this.#stop(w.spec.stopTimeout);
      } else {
        await this.#destroy(w.spec.stopTimeout);
        return;
      }
      await this.#persist();
    }
    for (const action of w.actions) await this.#action(action.id, action.op, action.arg);
    this.report();
  }

  async #action(id: string, op: string, arg: string | undefined): Promise<void> {
    if (!(await this.#ctx.ledger.claim(id, new Date(Date.now() + 24 * 3_600_000)))) {
      const done = await this.#ctx.ledger.get<ActionResult>(id);
      const result = done?.result ?? {
        id,
        ok: false,
        message: "interrupted: the agent stopped while it ran",
      };
      if (!this.#actions.some((a) => a.id === id)) this.#actions.push(result);
      return;
    }
    let result: ActionResult;
    try {
      result = { id, ok: true, ...(await this.#do(op, arg)) };
    } catch (error) {
      result = { id, ok: false, message: _why(error).slice(0, 1000) };
    }
    await this.#ctx.ledger.complete(id, result);
    this.#actions.push(result);
    this.report();
  }

  /** One action; throws with the reason it could not be done. */
  async #do(op: string, arg: string | undefined): Promise<{ message?: string }> {
    const inst = this.#instance;
    if (op === "restart") {
      if (this.#saved?.desired !== "running") throw new VmError("the VM is not meant to run; start it first");
      await this.#stop(this.#saved.spec.stopTimeout);
      await this.#start();
      if (this.#state !== "started") throw new VmError(this.#message ?? "it did not start again");
      return {};
    }
    if (!inst) throw new VmError(`the VM is ${this.#state}, not running`);
    switch (op) {
      case "pause":
        await inst.pause();
        this.#set("paused");
        return {};
      case "resume":
        await inst.resume();
        this.#set("started");
        return {};
      case "snapshot": {
        const tag = _arg(arg);
        if (this.#snapshots.some((s) => s.name === tag))
          throw new VmError(`a snapshot ${tag} exists already`);
        await inst.snapshot(tag);
        this.#snapshots.push({ name: tag, at: Date.now() });
        await this.#persist();
        return {};
      }
      case "restore": {
        const tag = _arg(arg);
        if (!this.#snapshots.some((s) => s.name === tag)) throw new VmError(`no snapshot ${tag}`);
        const next = await inst.restore(tag);
        if (next !== inst) {
          this.#instance = next;
          this.#watch(next);
        }
        this.#set("started");
        this.#ctx.changed(this.name);
        return {};
      }
      case "snapshot.rm": {
        const tag = _arg(arg);
        if (!this.#snapshots.some((s) => s.name === tag)) throw new VmError(`no snapshot ${tag}`);
        if (!inst.deleteSnapshot) throw new VmError(`the ${this.#driver} driver cannot remove snapshots`);
        await inst.deleteSnapshot(tag);
        this.#snapshots = this.#snapshots.filter((s) => s.name !== tag);
        await this.#persist();
        return {};
      }
    }
    throw new VmError(`unknown operation ${op}`);
  }

  async #start(): Promise<void> {
    const saved = this.#saved;
    if (!saved || this.#instance) return;
    const spec = saved.spec;
    this.#set("starting");
    this.#message = "starting";
    this.report();
    let madeTap: string | undefined;
    try {
      const { driver, probe } = await this.#choose(spec.driver);
      const image = await prepareImage(this.#ctx.imagesDir, saved.artifact.sha256, (dir) =>
        this.#ctx.fetchImage(saved.artifact, dir),
      );
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await this.#ctx.runtime.writeFile(`${this.dir}/driver`, `${driver.name}\n`);
      const disk = await makeDisk(this.#ctx.runtime, this.dir, image.rootfs, spec.disk);
      const tap = await this.#tap(saved);
      if (tap && (await ensureTap(this.#ctx.runtime, tap.ifname, this.#ctx.bridge!.name)))
        madeTap = tap.ifname;
      const seed =
        spec.userData || tap
          ? await makeSeed(
              this.#ctx.runtime,
              this.dir,
              spec.userData
                ? Buffer.from(spec.userData, "base64")
                : new TextEncoder().encode("#cloud-config\n"),
              { instanceId: saved.id, hostname: this.name, ...(tap ? { network: tap } : {}) },
            )
          : undefined;
      // On a bridge the guest's ports are reached at its own address: no loopback forwards.
      const ports = tap ? [] : spec.ports.map((guest) => ({ guest, host: this.#freePort() }));
      this.#startedAt = Date.now();
      const instance = await driver.start(this.dir, {
        name: this.name,
        cpus: spec.cpus,
        memoryMiB: spec.memory,
        kernel: image.kernel,
        ...(image.initrd ? { initrd: image.initrd } : {}),
        cmdline: tap ? `${spec.cmdline} ${kernelIpArg(tap)}` : spec.cmdline,
        disk,
        ...(seed ? { seed } : {}),
        ports,
        ...(tap ? { tap } : {}),
      });
      this.#driver = driver.name;
      this.#ports = ports;
      this.#instance = instance;
      this.#message = `started with ${driver.name}${probe.accel ? ` (${probe.accel})` : ""}`;
      this.#set("started");
      await this.#persist();
      this.#serve();
      this.#watch(instance);
      this.#ctx.log(`vm ${this.name}: started (pid ${instance.pid})`);
      this.#ctx.changed(this.name);
    } catch (error) {
      // Nothing left behind: a TAP made for this start goes with it.
      if (madeTap) await removeTap(this.#ctx.runtime, madeTap);
      this.#message = _why(error).slice(0, 1024);
      this.#set("failed");
      this.#ctx.log(`vm ${this.name}: ${this.#message}`);
    }
    this.report();
  }

  /** The VM's TAP on the bridge (its address allocated and persisted on first use), or none. */
  async #tap(saved: Persisted): Promise<TapConfig | undefined> {
    const bridge = this.#ctx.bridge;
    if (!bridge) return undefined;
    this.#address ??= allocateAddress(bridge, this.#ctx.takenAddresses(this.name));
    await this.#persist();
    return {
      ifname: tapName(this.name),
      mac: guestMac(saved.id),
      address: this.#address,
      prefix: bridge.prefix,
      gateway: bridge.address,
    };
  }

  /** The driver asked for, or the first this host has; refused with what the host offers. */
  async #choose(name: VmDriverName | undefined): Promise<{ driver: VmDriver; probe: DriverProbe }> {
    const all = await this.#ctx.drivers();
    const chosen = name ? all.find((d) => d.driver.name === name) : all.find((d) => d.probe.available);
    if (chosen?.probe.available) return chosen;
    const offered = all
      .filter((d) => d.probe.available)
      .map((d) => `${d.driver.name}${d.probe.accel ? ` (${d.probe.accel})` : ""}`);
    throw new VmError(
      name
        ? `this host cannot run ${name}${chosen?.probe.reason ? ` (${chosen.probe.reason})` : ""}; it offers: ${offered.join(", ") || "none"}`
        : `this host offers no VM driver (${all.map((d) => `${d.driver.name}: ${d.probe.reason ?? "unavailable"}`).join("; ")})`,
    );
  }

  /** Graceful (Ctrl-Alt-Del / ACPI), then killed after `timeoutMs`. */
  async #stop(timeoutMs: number): Promise<void> {
    const inst = this.#instance;
    if (!inst) {
      // Nothing runs (it failed, or stopped by itself): asked to stop, it is stopped.
      if (this.#state !== "stopped") this.#message = "stopped";
      this.#set("stopped");
      return;
    }
    this.#instance = undefined; // an exit from here on is the one we asked for
    this.#unserve();
    this.#set("stopping");
    this.report();
    let graceful = false;
    if (timeoutMs > 0) {
      await inst.shutdown().catch(() => {});
      graceful = await Promise.race([inst.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    }
    if (!graceful) await inst.kill().catch(() => {});
    inst.detach();
    this.#set("stopped");
    this.#message = graceful
      ? "stopped: the guest powered off"
      : `stopped: killed${timeoutMs ? ` after ${timeoutMs} ms` : ""}`;
    this.#ctx.log(`vm ${this.name}: ${this.#message}`);
    this.#ctx.changed(this.name);
  }

  async #destroy(timeoutMs: number): Promise<void> {
    await this.#stop(timeoutMs);
    await rm(this.dir, { recursive: true, force: true });
    if (this.#ctx.bridge) await removeTap(this.#ctx.runtime, tapName(this.name));
    this.#address = undefined;
    this.#snapshots = [];
    this.#set("destroyed");
    this.#message = "destroyed";
    this.report();
    this.#ctx.gone(this.name);
  }

  /** The hypervisor went away without being asked: at boot it failed, later the guest stopped. */
  #watch(inst: VmInstance): void {
    void inst.exited.then(() =>
      this.#enqueue(async () => {
        if (this.#instance !== inst) return;
        this.#instance = undefined;
        inst.detach();
        this.#unserve();
        const why =
          tail(readText(`${this.dir}/qemu.log`)) || tail(readText(`${this.dir}/console.log`).slice(-4000));
        if (this.#startedAt && Date.now() - this.#startedAt < BOOT_WINDOW_MS) {
          this.#message = `the hypervisor exited at boot${why ? `: ${why}` : ""}`.slice(0, 1024);
          this.#set("failed");
        } else {
          this.#message = "stopped: the guest powered off or the hypervisor exited";
          this.#set("stopped");
        }
        this.#ctx.log(`vm ${this.name}: ${oneLine(this.#message)}`);
        this.#ctx.changed(this.name);
        await this.#persist();
        this.report();
      }),
    );
  }

  #serve(): void {
    const address = this.#ctx.bridge ? this.#address : undefined;
    if (address) {
      for (const guest of this.#saved?.spec.ports ?? [])
        this.#ctx.setService(`${this.name}-${guest}`, `${address}:${guest}`);
    } else {
      for (const p of this.#ports) this.#ctx.setService(`${this.name}-${p.guest}`, `127.0.0.1:${p.host}`);
    }
  }

  #unserve(): void {
    const guests = new Set([...this.#ports.map((p) => p.guest), ...(this.#saved?.spec.ports ?? [])]);
    for (const guest of guests) this.#ctx.setService(`${this.name}-${guest}`, undefined);
  }

  #set(state: VmState): void {
    if (state !== this.#state) this.#since = Date.now();
    this.#state = state;
  }

  async #persist(): Promise<void> {
    if (!this.#saved) return;
    this.#saved = {
      ...this.#saved,
      ports: this.#ports,
      ...(this.#address ? { address: this.#address } : {}),
      snapshots: this.#snapshots,
    };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.#ctx.runtime.writeFile(`${this.dir}/state.json`, JSON.stringify(this.#saved));
  }

  #freePort(): number {
    const listener = this.#ctx.runtime.listen("127.0.0.1", 0, (conn) => conn.close());
    const port = listener.port;
    listener.close();
    return port;
  }
}

/** The spec as state.json keeps it: user data in base64. */
function _storedSpec(spec: VmRunSpec): Persisted["spec"] {
  const { userData, ...rest } = spec;
  return userData ? { ...rest, userData: Buffer.from(userData).toString("base64") } : rest;
}

function _arg(arg: string | undefined): string {
  if (!arg) throw new VmError("the operation needs a snapshot name");
  return arg;
}

async function _readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function _why(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}
