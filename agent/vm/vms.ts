// The microVMs of this host, for the life of the agent: the control plane's vm workloads (capability 9)
// are applied here, one Vm each (vm.ts); what each looks like goes back as `workload.status` while a
// connection is up, and again in full on every reconnect. At start, VMs a previous agent left running
// are re-attached from <state>/vms/<vm>/ without restarting them, and those that should run but do not
// (the host rebooted) are started again.
//
// The console stream (another module) follows a VM through `instance(name)` and `onChange`.
import { readdir } from "node:fs/promises";
import { SERVICE_NAME_PATTERN } from "../../schema/names.ts";
import type { DriverFacts, Unsequenced, Workload, WorkloadStatusFrame } from "../../schema/protocol/index.ts";
import { ActionLedger } from "../action-ledger.ts";
import type { Send } from "../outgoing.ts";
import type { Runtime } from "../runtime/index.ts";
import { CloudHypervisorDriver } from "./cloud-hypervisor.ts";
import type { DriverProbe, VmDriver, VmInstance } from "./driver.ts";
import { FirecrackerDriver } from "./firecracker.ts";
import { QemuDriver } from "./qemu.ts";
import type { Bridge } from "./tap.ts";
import { Vm } from "./vm.ts";

export interface VmsOptions {
  runtime: Runtime;
  stateDir: string;
  log(line: string): void;
  /** The host service `name` → `address:port`, or none (each VM port is `<vm>-<port>`). */
  setService(name: string, target: string | undefined): void;
  /** The agent's --vm-bridge (tap.ts openBridge), when it has one. */
  bridge?: Bridge;
  /** Fetches an image's artifact into `dir`, signed as this host (agent/apps/artifact-fetch.ts). */
  fetchImage(artifact: { sha256: string; size: number }, dir: string): Promise<void>;
  /** The drivers, in order of preference (default: qemu, firecracker, cloud-hypervisor). */
  drivers?: VmDriver[];
}

export class Vms {
  readonly #options: VmsOptions;
  readonly #vms = new Map<string, Vm>();
  readonly #ledger: ActionLedger;
  readonly #drivers: VmDriver[];
  readonly #listeners = new Set<(name: string) => void>();
  #probes: Promise<{ driver: VmDriver; probe: DriverProbe }[]> | undefined;
  #send: Send | undefined;

  private constructor(options: VmsOptions, ledger: ActionLedger) {
    this.#options = options;
    this.#ledger = ledger;
    this.#drivers = options.drivers ?? [
      new QemuDriver(options.runtime),
      new FirecrackerDriver(options.runtime),
      new CloudHypervisorDriver(options.runtime),
    ];
  }

  static async open(options: VmsOptions): Promise<Vms> {
    const vms = new Vms(options, await ActionLedger.open(options.stateDir));
    await vms.#adopt();
    return vms;
  }

  get #vmsDir(): string {
    return `${this.#options.stateDir}/vms`;
  }

  /** Each driver with its probe, measured once per agent (QEMU's KVM probe starts a QEMU). */
  drivers(): Promise<{ driver: VmDriver; probe: DriverProbe }[]> {
    this.#probes ??= Promise.all(
      this.#drivers.map(async (driver) => ({
        driver,
        probe: await driver.probe().catch(
          (error): DriverProbe => ({
            name: driver.name,
            available: false,
            reason: String(error).slice(0, 200),
          }),
        ),
      })),
    );
    return this.#probes;
  }

  /** What hello's facts say of the drivers (capability 9). */
  async facts(): Promise<DriverFacts[]> {
    return (await this.drivers()).map(({ probe }) => ({
      name: probe.name,
      available: probe.available,
      ...(probe.accel ? { accel: probe.accel } : {}),
      ...(probe.version ? { version: probe.version.slice(0, 64) } : {}),
      ...(probe.reason ? { reason: probe.reason.slice(0, 300) } : {}),
    }));
  }

  async #adopt(): Promise<void> {
    const names = await readdir(this.#vmsDir).catch(() => [] as string[]);
    for (const name of names) {
      if (!SERVICE_NAME_PATTERN.test(name) || name.includes("..")) continue;
      const vm = this.#vm(name);
      if (!(await vm.adopt())) this.#vms.delete(name);
    }
  }

  #vm(name: string): Vm {
    let vm = this.#vms.get(name);
    if (!vm) {
      vm = new Vm(name, {
        runtime: this.#options.runtime,
        vmsDir: this.#vmsDir,
        imagesDir: `${this.#options.stateDir}/vm-images`,
        log: this.#options.log,
        report: (status) => this.#report(status),
        setService: this.#options.setService,
        ...(this.#options.bridge ? { bridge: this.#options.bridge } : {}),
        takenAddresses: (except) =>
          new Set(
            [...this.#vms.values()]
              .filter((v) => v.name !== except)
              .flatMap((v) => (v.address ? [v.address] : [])),
          ),
        fetchImage: this.#options.fetchImage,
        drivers: () => this.drivers(),
        ledger: this.#ledger,
        changed: (n) => {
          for (const listener of this.#listeners) listener(n);
        },
        gone: (n) => {
          this.#vms.delete(n);
          for (const listener of this.#listeners) listener(n);
        },
      });
      this.#vms.set(name, vm);
    }
    return vm;
  }

  /** A connection is ready and its control plane speaks cap 9: send through it, and report all. */
  connected(send: Send): void {
    this.#send = send;
    for (const vm of this.#vms.values()) vm.report();
  }

  disconnected(): void {
    this.#send = undefined;
  }

  /** The control plane's whole desired set: each VM listed is applied (VMs not listed keep running). */
  apply(workloads: readonly Workload[]): void {
    for (const w of workloads) {
      if (w.spec.kind !== "vm") continue;
      try {
        void this.#vm(w.name).apply({ ...w, spec: w.spec });
      } catch (error) {
        // A name vm.ts will not make a directory of: refused here, the connection and the others go on.
        this.#options.log(`vm ${JSON.stringify(w.name)}: refused (${(error as Error).message})`);
      }
    }
  }

  /** The VMs this agent knows (from the control plane, or re-attached from the state dir). */
  names(): string[] {
    return [...this.#vms.keys()];
  }

  /** The running instance of VM `name`, if any. */
  instance(name: string): VmInstance | undefined {
    return this.#vms.get(name)?.instance;
  }

  /** Called whenever a VM starts, stops, is re-attached or restored; returns the unsubscribe. */
  onChange(listener: (name: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #report(status: Unsequenced<WorkloadStatusFrame>): void {
    this.#send?.(status);
  }

  /** The agent is shutting down: VMs keep running (that is the point); only our sockets to them go. */
  close(): void {
    for (const vm of this.#vms.values()) vm.detach();
  }
}
