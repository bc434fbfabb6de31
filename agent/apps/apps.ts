// The apps of this host, for the life of the agent: the control plane's `workloads` (cap 6) are
// applied here, one App each (app.ts); what each looks like goes back as `workload.status` while a
// connection is up, and again in full on every reconnect. At start, apps a previous agent left
// running are re-adopted from <state>/apps/<app>/state.json without restarting them.
//
// Each app is also a host service named after it (the target of tcp.open, so `outpost forward
// host:app`, mesh routes and exposures follow its live release), and with `listen` the agent serves
// that address itself and proxies every connection to the live release (listen-proxy.ts).
import { readdir } from "node:fs/promises";
import { SERVICE_NAME_PATTERN } from "../../schema/names.ts";
import type { Unsequenced, Workload, WorkloadStatusFrame } from "../../schema/protocol/index.ts";
import { ActionLedger } from "../action-ledger.ts";
import type { Send } from "../outgoing.ts";
import type { Runtime } from "../runtime/index.ts";
import { App } from "./app.ts";
import type { PrepareStats } from "./artifact-cache.ts";
import { ListenProxies } from "./listen-proxy.ts";

export interface AppsOptions {
  runtime: Runtime;
  stateDir: string;
  log(line: string): void;
  /** The host service `name` → 127.0.0.1:`port`, or none. */
  setService(name: string, port: number | undefined): void;
  prepareRelease(w: Workload, dir: string): Promise<PrepareStats | undefined>;
  openEnv(w: Workload): Promise<Record<string, string>>;
}

const ROTATE_EVERY_MS = 5000;

export class Apps {
  readonly #options: AppsOptions;
  readonly #apps = new Map<string, App>();
  readonly #ledger: ActionLedger;
  readonly #proxies: ListenProxies;
  readonly #ports = new Map<string, number>();
  #send: Send | undefined;
  #rotate: ReturnType<typeof setInterval> | undefined;

  private constructor(options: AppsOptions, ledger: ActionLedger) {
    this.#options = options;
    this.#ledger = ledger;
    this.#proxies = new ListenProxies(options.runtime, options.log, (name) => this.#ports.get(name));
  }

  static async open(options: AppsOptions): Promise<Apps> {
    const apps = new Apps(options, await ActionLedger.open(options.stateDir));
    await apps.#adopt();
    apps.#rotate = setInterval(() => {
      for (const app of apps.#apps.values()) void app.rotateLogs();
    }, ROTATE_EVERY_MS);
    return apps;
  }

  get #appsDir(): string {
    return `${this.#options.stateDir}/apps`;
  }

  async #adopt(): Promise<void> {
    const names = await readdir(this.#appsDir).catch(() => [] as string[]);
    for (const name of names) {
      if (!SERVICE_NAME_PATTERN.test(name)) continue;
      const app = this.#app(name);
      if (!(await app.adopt())) this.#apps.delete(name);
    }
  }

  #app(name: string): App {
    let app = this.#apps.get(name);
    if (!app) {
      app = new App(name, {
        runtime: this.#options.runtime,
        appsDir: this.#appsDir,
        log: this.#options.log,
        report: (status) => this.#report(status),
        setService: (n, port, listen) => {
          if (port === undefined) this.#ports.delete(n);
          else this.#ports.set(n, port);
          this.#options.setService(n, port);
          this.#proxies.sync(n, port === undefined ? undefined : listen);
        },
        prepareRelease: this.#options.prepareRelease,
        openEnv: this.#options.openEnv,
        ledger: this.#ledger,
      });
      this.#apps.set(name, app);
    }
    return app;
  }

  /** A connection is ready (and its control plane speaks cap 6): send through it, and report all. */
  connected(send: Send): void {
    this.#send = send;
    for (const app of this.#apps.values()) app.report();
  }

  disconnected(): void {
    this.#send = undefined;
  }

  /** The control plane's whole desired set: each app listed is applied (apps not listed keep running). */
  apply(workloads: readonly Workload[]): void {
    for (const w of workloads) {
      if (w.spec.kind !== "app") continue;
      void this.#app(w.name).apply({ ...w, spec: w.spec });
    }
  }

  /** The app's log file, for the logs stream; undefined when no such app. */
  logPath(name: string, stream: "stdout" | "stderr"): string | undefined {
    return this.#apps.get(name)?.logPath(stream);
  }

  #report(status: Unsequenced<WorkloadStatusFrame>): void {
    if (status.id === "") return; // adopted, not yet named by the control plane
    this.#send?.(status);
  }

  /** The agent is shutting down: apps keep running (that is the point); only our listeners go. */
  close(): void {
    clearInterval(this.#rotate);
    this.#proxies.closeAll();
  }
}
