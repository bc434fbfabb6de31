// What this host lets streams reach, for the whole life of the agent (connections come and go):
// the owner's policy and services from the command line (--allow-loopback, --allow-net, --service),
// the services and mesh listeners the control plane's latest `config` names, and DNS.
//
// A local service wins over an API service of the same name: the owner's word is final on the host.
import {
  type HostConfig,
  type HostReport,
  MAX_REPORT_ENTRIES,
  type ReportedService,
} from "../../schema/protocol/index.ts";
import { checkApiServiceTarget, type PolicyConfig, type Resolver, type Service } from "../policy/index.ts";
import type { Runtime } from "../runtime/index.ts";
import { type AppliedConfig, parseHostConfig } from "./host-config.ts";
import { MeshListeners } from "./mesh-listeners.ts";
import { dnsResolver } from "./resolver.ts";
import type { StreamTargets } from "./tcp-streams.ts";

export interface HostNetworkOptions {
  runtime: Pick<Runtime, "listen">;
  policy: PolicyConfig;
  /** --service flags. */
  localServices: readonly Service[];
  log: (line: string) => void;
  resolve?: Resolver;
}

export class HostNetwork implements StreamTargets {
  readonly policy: PolicyConfig;
  readonly resolve: Resolver;
  readonly listeners: MeshListeners;
  readonly #log: (line: string) => void;
  readonly #local: ReadonlyMap<string, Service>;
  #api = new Map<string, Service>();
  /** The host's apps (agent/apps): each is the service of its name, at its live release's port. */
  #apps = new Map<string, Service>();
  /** The host's VMs' ports (agent/vm): `<vm>-<port>`, at the host loopback port forwarded to it. */
  #vms = new Map<string, Service>();
  readonly #watchers = new Set<() => void>();
  #merged: ReadonlyMap<string, Service>;
  #refused: AppliedConfig["refused"] = [];

  constructor(options: HostNetworkOptions) {
    this.policy = options.policy;
    this.resolve = options.resolve ?? dnsResolver();
    this.#log = options.log;
    this.#local = new Map(options.localServices.map((s) => [s.name, s]));
    this.#merged = this.#local;
    this.listeners = new MeshListeners({ runtime: options.runtime, log: options.log });
  }

  /** Every service a tcp.open may name, local ones over API ones. */
  services(): ReadonlyMap<string, Service> {
    return this.#merged;
  }

  /** Takes the control plane's latest `config`: API services, and the listeners brought in step. */
  applyConfig(config: HostConfig): void {
    const { services, listeners, refused } = parseHostConfig(config, this.#log);
    this.#refused = refused;
    const api = new Map(services.map((s) => [s.name, s]));
    for (const service of api.values()) {
      const before = this.#api.get(service.name);
      if (before?.target !== service.target) this.#describe(service);
    }
    this.#api = api;
    this.#merge();
    this.listeners.sync(listeners);
  }

  /**
   * App `name` now serves on 127.0.0.1:`port` (undefined: it does not serve). The agent started it
   * itself, so it counts as the owner's ("local"); an owner's --service of the same name still wins.
   */
  setAppService(name: string, port: number | undefined): void {
    if (port === undefined) this.#apps.delete(name);
    else this.#apps.set(name, { name, target: `127.0.0.1:${port}`, source: "local" });
    this.#merge();
  }

  /**
   * VM port `name` (`<vm>-<port>`) now reaches its guest at `target` (127.0.0.1:<forward>, or the
   * guest's own address on the --vm-bridge; undefined: the VM stopped). The agent made the forward itself, so it is the owner's ("local") and is reported as the
   * agent's own service; an owner's --service of the same name still wins.
   */
  setVmService(name: string, target: string | undefined): void {
    if (target === undefined) this.#vms.delete(name);
    else this.#vms.set(name, { name, target, source: "local" });
    this.#merge();
    for (const watcher of this.#watchers) watcher();
  }

  /** Told whenever the services the report lists change outside a config (a VM started or stopped). */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  #merge(): void {
    this.#merged = new Map([...this.#api, ...this.#apps, ...this.#vms, ...this.#local]);
  }

  /** One log line for a new or changed API service that will not work as the control plane thinks. */
  #describe(service: Service): void {
    const { name, target } = service;
    if (this.#local.has(name)) {
      this.#log(`service '${name}' from the control plane is overridden by this host's --service ${name}`);
      return;
    }
    const check = checkApiServiceTarget(target, this.policy);
    if (!check.ok) this.#log(`service '${name}' from the control plane is refused here: ${check.reason}`);
  }

  /**
   * What this host actually uses, for the control plane (frames.ts `report`): every service definition
   * with its source, which one a stream of that name gets, and whether the policy lets it reach its
   * target; each mesh listener's state. The owner's own services are allowed wherever they point.
   */
  report(): HostReport {
    const services: ReportedService[] = [];
    for (const s of this.#local.values()) {
      services.push({ name: s.name, source: "agent", target: s.target, wins: true, allowed: true });
    }
    for (const s of this.#vms.values()) {
      if (this.#local.has(s.name)) continue;
      services.push({ name: s.name, source: "agent", target: s.target, wins: true, allowed: true });
    }
    for (const s of this.#api.values()) {
      const entry = { name: s.name, source: "cp" as const, target: s.target };
      if (this.#local.has(s.name)) {
        services.push({
          ...entry,
          wins: false,
          allowed: false,
          reason: "overridden by this host's own service",
        });
        continue;
      }
      const check = checkApiServiceTarget(s.target, this.policy);
      if (!check.ok) services.push({ ...entry, wins: true, allowed: false, reason: check.reason });
      else if ("deferred" in check) {
        services.push({
          ...entry,
          wins: true,
          allowed: true,
          reason: "a name: its addresses are checked at each connect",
        });
      } else services.push({ ...entry, wins: true, allowed: true });
    }
    const listeners = this.listeners
      .states(this.#refused)
      .map(({ route, listen, error }) =>
        error === undefined
          ? { route, listen, state: "listening" as const }
          : { route, listen, state: "failed" as const, error },
      );
    // Bounded as the frame is (the owner's own flags are not): the first ones, in order.
    return {
      services: services.slice(0, MAX_REPORT_ENTRIES),
      listeners: listeners.slice(0, MAX_REPORT_ENTRIES),
    };
  }

  /** Stops the listeners (the agent is shutting down). */
  close(): void {
    this.listeners.closeAll();
  }
}
