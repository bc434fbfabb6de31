// The VMs of an identity's state dir, found from its layout (vm-lookup.ts) alone: each `vms/<name>/`
// whose `driver` file names a driver this agent has is attached with that driver (driver.attach finds
// the hypervisor still running from the directory: pid file, control socket). It is how a restarted
// agent finds the VMs it left running, and what serves the console until the VM lifecycle (Vms) does.
//
// Looked at again every `pollMs`, and whenever an instance's hypervisor exits: a VM started, stopped
// or restarted by anything else is noticed within that time, and listeners are told its name.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { NAME_PATTERN } from "../../schema/names.ts";
import type { DriverName, VmDriver, VmInstance } from "./driver.ts";
import { VMS_DIR, type VmLookup, vmDir } from "./vm-lookup.ts";

const POLL_MS = 1_000;

export interface StateDirVmsOptions {
  stateDir: string;
  drivers: readonly VmDriver[];
  pollMs?: number;
  log?: (line: string) => void;
}

export class StateDirVms implements VmLookup {
  readonly #o: StateDirVmsOptions;
  readonly #instances = new Map<string, VmInstance>();
  readonly #listeners = new Set<(name: string) => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #scan: Promise<void> | undefined;
  #closed = false;

  constructor(options: StateDirVmsOptions) {
    this.#o = options;
  }

  /** Scans now and then every pollMs; resolves after the first scan. */
  start(): Promise<void> {
    const tick = async () => {
      await this.refresh();
      if (!this.#closed) this.#timer = setTimeout(tick, this.#o.pollMs ?? POLL_MS);
    };
    return tick();
  }

  instance(name: string): VmInstance | undefined {
    return this.#instances.get(name);
  }

  onChange(listener: (name: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The VMs the state dir holds (running or not), by name. */
  names(): string[] {
    const dir = join(this.#o.stateDir, VMS_DIR);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return [];
    }
    return entries.filter((n) => NAME_PATTERN.test(n) && this.#driverOf(n) !== undefined).sort();
  }

  /** Looks at every VM directory once; listeners hear of each VM whose instance changed. */
  refresh(): Promise<void> {
    this.#scan ??= this.#refresh().finally(() => {
      this.#scan = undefined;
    });
    return this.#scan;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const instance of this.#instances.values()) instance.detach();
    this.#instances.clear();
    this.#listeners.clear();
  }

  async #refresh(): Promise<void> {
    const names = new Set(this.names());
    for (const name of [...this.#instances.keys()]) if (!names.has(name)) this.#drop(name);
    for (const name of names) {
      if (this.#closed) return;
      if (this.#instances.has(name)) continue;
      const driver = this.#driverOf(name)!;
      let instance: VmInstance | undefined;
      try {
        instance = await driver.attach(vmDir(this.#o.stateDir, name));
      } catch (error) {
        this.#o.log?.(`cannot attach to VM ${name}: ${error instanceof Error ? error.message : error}`);
      }
      if (!instance || this.#closed) {
        instance?.detach();
        continue;
      }
      this.#instances.set(name, instance);
      void instance.exited.then(() => {
        if (this.#instances.get(name) === instance) this.#drop(name);
      });
      this.#tell(name);
    }
  }

  #drop(name: string): void {
    const instance = this.#instances.get(name);
    this.#instances.delete(name);
    instance?.detach();
    this.#tell(name);
  }

  #tell(name: string): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(name);
      } catch (error) {
        this.#o.log?.(`a VM listener failed: ${error instanceof Error ? error.message : error}`);
      }
    }
  }

  /** The driver named by the VM's `driver` file, when this agent has it. */
  #driverOf(name: string): VmDriver | undefined {
    const file = join(vmDir(this.#o.stateDir, name), "driver");
    if (!existsSync(file)) return undefined;
    let text: string;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch {
      return undefined;
    }
    return this.#o.drivers.find((d) => d.name === (text as DriverName));
  }
}

/** Whether the state dir holds VM `name` (its directory with a `driver` file), running or not. */
export function hasVm(stateDir: string, name: string): boolean {
  return existsSync(join(vmDir(stateDir, name), "driver"));
}

/** The driver VM `name`'s `driver` file names ("" when it cannot be read). */
export function driverOf(stateDir: string, name: string): string {
  try {
    return readFileSync(join(vmDir(stateDir, name), "driver"), "utf8").trim();
  } catch {
    return "";
  }
}
