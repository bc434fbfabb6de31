// One app on this host: its releases, the instance that serves (the live one), the one being
// started and the one draining. Everything an app does goes through one queue, so a deploy, a
// restart and a stop never interleave.
//
//   deploy: release dir (fetched and unpacked unless already there) → `release` hook → start on a
//   free loopback port → health within `grace` → switch (the host service `<app>` and the listen
//   proxy follow the new port at once) → drain the old (stop_signal, stop_timeout, then SIGKILL).
//   A release that fails its gate is stopped and the live one keeps serving. A live release that
//   dies is restarted by policy with backoff; five restarts within a minute is a crash loop: failed.
//   Dying within revert_window of going live reverts to the release the spec names (the last healthy).
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { execPath } from "node:process";
import type {
  ActionResult,
  AppRunSpec,
  InstanceState,
  InstanceStatus,
  Unsequenced,
  Workload,
  WorkloadStatusFrame,
} from "../../schema/protocol/index.ts";
import type { ActionLedger } from "../action-ledger.ts";
import { oneLine } from "../errors.ts";
import type { Runtime } from "../runtime/index.ts";
import type { PrepareStats } from "./artifact-cache.ts";
import {
  containerName,
  containerRunning,
  findPodman,
  isPodmanEnvName,
  podmanRunCommand,
  stopContainer,
} from "./container.ts";
import { checkHealth } from "./health.ts";
import { rotateIfLarge } from "./log-files.ts";
import { isSameProcess, signalGroup, spawnDetached, waitGone } from "./process.ts";
import { type RunAs, resolveRunAs, runAsArgv, runAsEnv, shareReadOnly } from "./run-as.ts";

export interface AppContext {
  runtime: Runtime;
  /** <state>/apps */
  appsDir: string;
  log(line: string): void;
  report(status: Unsequenced<WorkloadStatusFrame>): void;
  /** The host service named after the app now leads to `port` (undefined: no service). */
  setService(name: string, port: number | undefined, listen: string | undefined): void;
  /** Fetches and unpacks the workload's artifact into `dir` (nothing at `dir` unless it all worked). */
  prepareRelease(w: Workload, dir: string): Promise<PrepareStats | undefined>;
  /** The workload's sealed env, opened for this host. */
  openEnv(w: Workload): Promise<Record<string, string>>;
  ledger: ActionLedger;
}

/** What is on disk for a running instance: enough to re-adopt it after the agent restarts. */
interface InstanceRecord {
  release: number;
  pid: number;
  startTime: string;
  port: number;
  liveSince: number;
  /** A container's name (container.ts): the pid is then its attached podman client's. */
  container?: string;
}

interface Instance {
  rec: InstanceRecord;
  state: InstanceState;
  restarts: number;
  exit?: { code: number | null; signal?: string };
  health?: string;
  since: number;
  /** Set while this agent watches it; cleared to stop the watch. */
  watching: boolean;
  exited?: Promise<unknown>;
}

interface Persisted {
  id: string;
  generation: number;
  desired: Workload["desired"];
  live?: InstanceRecord;
  /** Old releases switched away from and not yet stopped: the next agent stops them. */
  draining?: InstanceRecord[];
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal argv item outpost.toml spells
const RUNTIME_ITEM = "${OUTPOST_RUNTIME}";
const CRASH_LOOP = { restarts: 5, withinMs: 60_000 };
const HOOK_TIMEOUT_MS = 10 * 60_000;
/** Between the switch and the old release's stop_signal (see #deploy); OUTPOST_SWITCH_SETTLE_MS changes it. */
const SWITCH_SETTLE_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class App {
  readonly name: string;
  readonly #ctx: AppContext;
  readonly #dir: string;
  #id = "";
  #generation = 0;
  #desired: Workload["desired"] = "running";
  #spec: AppRunSpec | undefined;
  /** The last workload the control plane sent: what a revert re-runs with (its env, its artifact). */
  #workload: Workload<AppRunSpec> | undefined;
  #live: Instance | undefined;
  #others: Instance[] = [];
  #message: string | undefined;
  #actions: ActionResult[] = [];
  #queue: Promise<void> = Promise.resolve();
  #crashes: number[] = [];
  /** Switched away from, being drained (persisted, so an agent stopped meanwhile leaves no orphan). */
  #draining: InstanceRecord[] = [];

  constructor(name: string, ctx: AppContext) {
    this.name = name;
    this.#ctx = ctx;
    this.#dir = `${ctx.appsDir}/${name}`;
  }

  // ## Entry points

  /** Re-adopts what a previous agent left running (state.json): no restart if it is still ours. */
  async adopt(): Promise<boolean> {
    const saved = await _readJson<Persisted>(`${this.#dir}/state.json`);
    if (!saved) return false;
    this.#id = saved.id;
    this.#generation = saved.generation;
    this.#desired = saved.desired;
    this.#draining = saved.draining ?? [];
    const live = saved.live;
    if (live) {
      this.#spec = await _readJson<AppRunSpec>(this.#releaseDir(live.release) + ".spec.json");
      const running =
        this.#spec &&
        (await isSameProcess(live.pid, live.startTime)) &&
        (live.container === undefined || (await this.#containerRunning(live.container)));
      if (running && this.#spec) {
        this.#live = this.#instance(live, "healthy");
        this.#ctx.log(`app ${this.name}: re-adopted release ${live.release} (pid ${live.pid})`);
        this.#ctx.setService(this.name, live.port, this.#spec.listen);
        this.#watch(this.#live);
      } else {
        this.#message = `release ${live.release} was not running when the agent started`;
      }
    }
    // Old releases a previous agent switched away from but had not stopped yet: stopped now, after
    // the live one is known (each stop persists the state).
    for (const rec of [...this.#draining]) void this.#enqueue(() => this.#stopLeftover(rec));
    return true;
  }

  /** The control plane's desired state for this app. */
  apply(w: Workload<AppRunSpec>): Promise<void> {
    return this.#enqueue(() => this.#apply(w));
  }

  /** Sends what this app looks like now (on every reconnect, and after every change). */
  report(): void {
    const instances = [this.#live, ...this.#others].filter((i): i is Instance => i !== undefined);
    this.#ctx.report({
      t: "workload.status",
      id: this.#id,
      generation: this.#generation,
      ...(this.#live ? { live: this.#live.rec.release } : {}),
      instances: instances.slice(0, 8).map(
        (i): InstanceStatus => ({
          release: i.rec.release,
          state: i.state,
          ...(i.rec.pid ? { pid: i.rec.pid } : {}),
          ...(i.rec.port ? { port: i.rec.port } : {}),
          restarts: i.restarts,
          ...(i.exit ? { exit: i.exit } : {}),
          ...(i.health !== undefined ? { health: i.health } : {}),
          since: i.since,
        }),
      ),
      ...(this.#message ? { message: this.#message } : {}),
      actions: this.#actions.slice(-16),
    });
  }

  /** Rotates the output files when they grew past their bound. */
  async rotateLogs(): Promise<void> {
    await rotateIfLarge(`${this.#dir}/logs/stdout.log`);
    await rotateIfLarge(`${this.#dir}/logs/stderr.log`);
  }

  logPath(stream: "stdout" | "stderr"): string {
    return `${this.#dir}/logs/${stream}.log`;
  }

  // ## Reconciling

  #enqueue(job: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(job).catch((error) => {
      this.#message = `internal error: ${oneLine(error instanceof Error ? error.message : String(error))}`;
      this.#ctx.log(`app ${this.name}: ${this.#message}`);
      this.report();
    });
    this.#queue = next;
    return next;
  }

  async #apply(w: Workload<AppRunSpec>): Promise<void> {
    this.#id = w.id;
    this.#workload = w;
    const changed = w.generation !== this.#generation;
    if (changed) {
      this.#generation = w.generation;
      this.#desired = w.desired;
      this.#actions = [];
      if (w.desired === "running") {
        if (this.#live?.rec.release !== w.spec.release || this.#live.state === "failed")
          await this.#deploy(w);
      } else {
        await this.#stopAll();
        this.#message = w.desired === "absent" ? "removed" : "stopped";
        if (w.desired === "absent") await rm(this.#dir, { recursive: true, force: true });
      }
      if (w.desired !== "absent") await this.#persist();
    }
    for (const action of w.actions) await this.#action(w, action.id, action.op);
    this.report();
  }

  async #action(w: Workload<AppRunSpec>, id: string, op: string): Promise<void> {
    const expires = new Date(Date.now() + 24 * 3_600_000);
    if (!(await this.#ctx.ledger.claim(id, expires))) {
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
    if (op === "restart") {
      if (w.desired !== "running" || !this.#spec)
        result = { id, ok: false, message: "the app is not running" };
      else {
        await this.#deploy({ ...w, spec: this.#spec }, true);
        result =
          this.#live?.state === "healthy"
            ? { id, ok: true }
            : { id, ok: false, message: this.#message ?? "restart failed" };
      }
    } else result = { id, ok: false, message: `unknown operation ${op}` };
    await this.#ctx.ledger.complete(id, result);
    this.#actions.push(result);
  }

  async #deploy(w: Workload<AppRunSpec>, restart = false): Promise<void> {
    const spec = w.spec;
    const dir = this.#releaseDir(spec.release);
    // `user` (run-as.ts): looked up before anything starts, so an unknown one leaves the live release alone.
    let runAs: RunAs | undefined;
    try {
      runAs = await this.#runAs(spec);
    } catch (error) {
      this.#fail(spec.release, _why(error));
      return;
    }
    if (spec.image !== undefined && !(await this.#podman())) {
      this.#fail(
        spec.release,
        `image ${spec.image} needs podman on this host, and there is none on its PATH (install it, e.g. apt-get install podman, or set OUTPOST_PODMAN); or deploy a cmd instead`,
      );
      return;
    }
    this.#message = `deploying release ${spec.release}`;
    this.report();
    // Where the time goes, logged once the release is live (the deploy bench reads this line).
    const phases: string[] = [];
    let mark = performance.now();
    const phase = (name: string) => {
      const now = performance.now();
      phases.push(`${name} ${(now - mark).toFixed(0)} ms`);
      mark = now;
    };
    if (await _exists(dir)) phase("artifact (already unpacked)");
    else {
      try {
        await mkdir(`${this.#dir}/releases`, { recursive: true, mode: 0o700 });
        const got = await this.#ctx.prepareRelease(w, dir);
        phase(`artifact (${_prepared(got)})`);
      } catch (error) {
        this.#fail(spec.release, `cannot fetch the artifact: ${_why(error)}`);
        return;
      }
    }
    await writeFile(`${dir}.spec.json`, JSON.stringify(spec));
    if (runAs) {
      try {
        await shareReadOnly(runAs, dir, [
          this.#ctx.appsDir.replace(/\/apps$/, ""),
          this.#ctx.appsDir,
          this.#dir,
          `${this.#dir}/releases`,
        ]);
      } catch (error) {
        this.#fail(
          spec.release,
          `cannot share the release directory with user ${runAs.name}: ${_why(error)}`,
        );
        return;
      }
    }
    let env: Record<string, string>;
    try {
      const secrets = await this.#ctx.openEnv(w);
      const clash = spec.image !== undefined ? Object.keys(secrets).find(isPodmanEnvName) : undefined;
      if (clash)
        throw new Error(
          `the secret ${clash} has a name podman reads itself, so it would travel on podman's command line; rename it (outpost env rm, env set)`,
        );
      env = runAsEnv(runAs, { ...this.#baseEnv(spec), ...secrets });
    } catch (error) {
      this.#fail(spec.release, _why(error));
      return;
    }
    phase("env");
    if (spec.hook && !restart) {
      const hook = await this.#runHook(spec, dir, env, runAs);
      if (!hook.ok) {
        this.#fail(spec.release, `release hook failed: ${hook.output}`);
        return;
      }
      phase("release hook");
    }
    const port = await this.#freePort();
    const inst = await this.#start(spec, dir, { ...env, PORT: String(port) }, port, runAs);
    if (!inst) return;
    phase("start");
    this.#others.push(inst);
    this.report();
    const gate = await this.#gate(spec, inst, dir, env, runAs);
    phase("health");
    if (!gate.ok) {
      this.#others = this.#others.filter((i) => i !== inst);
      await this.#stop(inst, spec);
      inst.state = "failed";
      inst.health = gate.output;
      this.#others.push(inst);
      this.#message = `release ${spec.release} failed its health check: ${gate.output}`;
      this.#keepOthers();
      return;
    }
    // Switch: the service and the listen proxy follow the new release from here on.
    this.#others = this.#others.filter((i) => i !== inst);
    const old = this.#live;
    inst.state = "healthy";
    inst.health = gate.output;
    inst.since = Date.now();
    inst.rec.liveSince = Date.now();
    this.#live = inst;
    this.#spec = spec;
    this.#crashes = [];
    this.#ctx.setService(this.name, port, spec.listen);
    this.#message = `release ${spec.release} is live`;
    if (old) this.#draining.push(old.rec);
    await this.#persist();
    phase("switch");
    this.#ctx.log(`app ${this.name}: release ${spec.release} live; phases: ${phases.join(", ")}`);
    this.#watch(inst);
    this.report();
    if (old) {
      const oldSpec = (await _readJson<AppRunSpec>(`${this.#releaseDir(old.rec.release)}.spec.json`)) ?? spec;
      this.#others.push(old);
      // Connections the proxies opened to the old port just before the switch may still sit in its
      // accept queue, and a listener that closes resets those: give them a moment to be accepted.
      await sleep(Number(this.#ctx.runtime.env("OUTPOST_SWITCH_SETTLE_MS")) || SWITCH_SETTLE_MS);
      await this.#stop(old, oldSpec);
      this.#draining = this.#draining.filter((r) => r !== old.rec);
      await this.#persist();
      this.#keepOthers();
    }
    await this.#prune(spec);
  }

  #fail(release: number, message: string): void {
    this.#message = `release ${release}: ${message}`.slice(0, 1024);
    this.#ctx.log(`app ${this.name}: ${oneLine(this.#message)}`);
    this.#others.push({
      rec: { release, pid: 0, startTime: "", port: 0, liveSince: 0 },
      state: "failed",
      restarts: 0,
      health: message.slice(-1024),
      since: Date.now(),
      watching: false,
    });
    this.#keepOthers();
  }

  /** Keeps the report small: the latest few instances that are not live. */
  #keepOthers(): void {
    this.#others = this.#others.slice(-4);
  }

  async #gate(
    spec: AppRunSpec,
    inst: Instance,
    cwd: string,
    env: Record<string, string>,
    runAs: RunAs | undefined,
  ) {
    // A `cmd` check runs as the app's user too (an http or tcp one only connects to its port).
    const health =
      spec.health?.cmd !== undefined
        ? { ...spec.health, cmd: runAsArgv(runAs, spec.health.cmd) }
        : spec.health;
    const interval = spec.health?.interval ?? 500;
    const deadline = Date.now() + (spec.health?.grace ?? 30_000);
    let last = { ok: false, output: "no health check ran" };
    for (;;) {
      if (!(await isSameProcess(inst.rec.pid, inst.rec.startTime))) {
        return {
          ok: false,
          output: `the process exited before it was healthy${last.output ? ` (${last.output})` : ""}`,
        };
      }
      last = await checkHealth(this.#ctx.runtime, health, inst.rec.port, { cwd, env });
      if (last.ok) return last;
      if (Date.now() >= deadline)
        return { ok: false, output: `not healthy within the grace period: ${last.output}` };
      await sleep(Math.min(interval, Math.max(50, deadline - Date.now())));
    }
  }

  async #runHook(spec: AppRunSpec, cwd: string, env: Record<string, string>, runAs: RunAs | undefined) {
    return checkHealth(
      this.#ctx.runtime,
      { cmd: runAsArgv(runAs, this.#argv(spec.hook!)), interval: 1000, timeout: HOOK_TIMEOUT_MS, grace: 0 },
      0,
      { cwd, env },
    );
  }

  async #start(
    spec: AppRunSpec,
    dir: string,
    env: Record<string, string>,
    port: number,
    runAs: RunAs | undefined,
  ): Promise<Instance | undefined> {
    await mkdir(`${this.#dir}/logs`, { recursive: true, mode: 0o700 });
    try {
      let argv = runAsArgv(runAs, this.#argv(spec.cmd));
      let runEnv = env;
      let container: string | undefined;
      if (spec.image !== undefined) {
        const podman = await this.#podman();
        if (!podman) throw new Error("podman is no longer on this host's PATH");
        container = containerName(this.name, spec.release);
        const run = podmanRunCommand(
          {
            podman,
            name: container,
            app: this.name,
            release: spec.release,
            image: spec.image,
            cmd: spec.cmd,
            port,
            env,
            stopSignal: spec.stopSignal,
            stopTimeoutMs: spec.stopTimeout,
            ...(spec.user !== undefined ? { user: spec.user } : {}),
          },
          (n) => this.#ctx.runtime.env(n),
        );
        argv = run.argv;
        runEnv = run.env;
      }
      const started = await spawnDetached(this.#ctx.runtime, argv, {
        cwd: dir,
        env: runEnv,
        out: this.logPath("stdout"),
        err: this.logPath("stderr"),
      });
      const inst = this.#instance(
        {
          release: spec.release,
          pid: started.pid,
          startTime: started.startTime,
          port,
          liveSince: 0,
          ...(container ? { container } : {}),
        },
        "starting",
      );
      inst.exited = started.child?.exited;
      return inst;
    } catch (error) {
      this.#fail(spec.release, `cannot start: ${_why(error)}`);
      return undefined;
    }
  }

  async #stopLeftover(rec: InstanceRecord): Promise<void> {
    if (!(await isSameProcess(rec.pid, rec.startTime))) return;
    const spec = await _readJson<AppRunSpec>(`${this.#releaseDir(rec.release)}.spec.json`);
    this.#ctx.log(
      `app ${this.name}: stopping release ${rec.release} (pid ${rec.pid}), left draining by the last agent`,
    );
    const inst = this.#instance(rec, "stopping");
    await this.#stop(inst, spec ?? { stopSignal: "SIGTERM", stopTimeout: 10_000 });
    this.#draining = this.#draining.filter((r) => r !== rec);
    await this.#persist();
  }

  /** Whom the release runs as (run-as.ts); a container's `user` is podman's --user, resolved in the image. */
  async #runAs(spec: AppRunSpec): Promise<RunAs | undefined> {
    if (spec.user === undefined || spec.image !== undefined) return undefined;
    return resolveRunAs(this.#ctx.runtime, spec.user);
  }

  /** The podman binary, looked up once per agent (container.ts). */
  #podmanPath: Promise<string | undefined> | undefined;
  #podman(): Promise<string | undefined> {
    this.#podmanPath ??= findPodman(this.#ctx.runtime);
    return this.#podmanPath;
  }

  async #containerRunning(name: string): Promise<boolean> {
    const podman = await this.#podman();
    return podman !== undefined && (await containerRunning(this.#ctx.runtime, podman, name));
  }

  #instance(rec: InstanceRecord, state: InstanceState): Instance {
    return { rec, state, restarts: 0, since: Date.now(), watching: false };
  }

  /** Supervises the live instance: a restart by policy when it dies, a revert or failure when it must. */
  #watch(inst: Instance): void {
    inst.watching = true;
    void (async () => {
      if (inst.exited) await inst.exited;
      while (inst.watching && (await isSameProcess(inst.rec.pid, inst.rec.startTime))) await sleep(250);
      if (!inst.watching || this.#live !== inst) return;
      inst.watching = false;
      await this.#enqueue(() => this.#died(inst));
    })();
  }

  async #died(inst: Instance): Promise<void> {
    if (this.#live !== inst || this.#desired !== "running" || !this.#spec) return;
    const spec = this.#spec;
    inst.state = "stopped";
    inst.exit = { code: null };
    this.#message = `release ${inst.rec.release} exited`;
    const now = Date.now();
    if (spec.revertTo !== undefined && now - inst.rec.liveSince < spec.revertWindow) {
      const back = await _readJson<AppRunSpec>(`${this.#releaseDir(spec.revertTo)}.spec.json`);
      if (back) {
        this.#ctx.log(
          `app ${this.name}: release ${spec.release} failed within its revert window; reverting to ${spec.revertTo}`,
        );
        this.#live = undefined;
        inst.state = "failed";
        this.#others.push(inst);
        const { revertTo: _gone, ...rest } = back;
        const w = this.#workload;
        if (w) await this.#deploy({ ...w, spec: rest, actions: [] }, true);
        this.#message = `release ${spec.release} failed within ${spec.revertWindow / 1000}s of going live; reverted to ${spec.revertTo}`;
        this.report();
        return;
      }
    }
    if (spec.restart === "never") {
      this.report();
      return;
    }
    this.#crashes = [...this.#crashes.filter((t) => now - t < CRASH_LOOP.withinMs), now];
    if (this.#crashes.length > CRASH_LOOP.restarts) {
      inst.state = "failed";
      this.#message = `release ${inst.rec.release} is in a crash loop (${CRASH_LOOP.restarts} restarts within a minute)`;
      this.report();
      return;
    }
    await sleep(Math.min(30_000, 250 * 2 ** (this.#crashes.length - 1)));
    // The restarted release gets its secrets again (opened anew: nothing kept in memory or on disk).
    const secrets = this.#workload ? await this.#ctx.openEnv(this.#workload).catch(() => ({})) : {};
    let runAs: RunAs | undefined;
    try {
      runAs = await this.#runAs(spec);
    } catch (error) {
      inst.state = "failed";
      this.#message = `release ${spec.release} cannot restart: ${_why(error)}`;
      this.report();
      return;
    }
    const env = runAsEnv(runAs, { ...this.#baseEnv(spec), ...secrets, PORT: String(inst.rec.port) });
    const again = await this.#start(spec, this.#releaseDir(spec.release), env, inst.rec.port, runAs);
    if (!again) return;
    again.restarts = inst.restarts + 1;
    again.rec.liveSince = inst.rec.liveSince;
    this.#live = again;
    this.#message = `release ${spec.release} restarted (${again.restarts})`;
    await this.#persist();
    this.#watch(again);
    this.report();
    const gate = await this.#gate(spec, again, this.#releaseDir(spec.release), env, runAs);
    if (this.#live !== again) return;
    again.state = gate.ok ? "healthy" : "unhealthy";
    again.health = gate.output;
    again.since = Date.now();
    this.report();
  }

  async #stop(inst: Instance, spec: Pick<AppRunSpec, "stopSignal" | "stopTimeout">): Promise<void> {
    inst.watching = false;
    if (!inst.rec.pid) return;
    inst.state = "stopping";
    inst.since = Date.now();
    this.report();
    const podman = inst.rec.container ? await this.#podman() : undefined;
    if (inst.rec.container && podman)
      await stopContainer(this.#ctx.runtime, podman, inst.rec.container, spec.stopTimeout);
    else await signalGroup(this.#ctx.runtime, inst.rec.pid, spec.stopSignal);
    if (!(await waitGone(inst.rec.pid, inst.rec.startTime, spec.stopTimeout))) {
      await signalGroup(this.#ctx.runtime, inst.rec.pid, "SIGKILL");
      await waitGone(inst.rec.pid, inst.rec.startTime, 5000);
    }
    inst.state = "stopped";
    inst.since = Date.now();
  }

  async #stopAll(): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    this.#ctx.setService(this.name, undefined, undefined);
    if (live && this.#spec) {
      this.#others.push(live);
      await this.#stop(live, this.#spec);
    }
    this.#keepOthers();
  }

  /** Keeps the newest `keep` release directories, and always the live one. */
  async #prune(spec: AppRunSpec): Promise<void> {
    const { readdir } = await import("node:fs/promises");
    const names = await readdir(`${this.#dir}/releases`).catch(() => [] as string[]);
    const releases = names
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => b - a);
    for (const n of releases.slice(spec.keep)) {
      if (n === this.#live?.rec.release) continue;
      await rm(this.#releaseDir(n), { recursive: true, force: true });
      await rm(`${this.#releaseDir(n)}.spec.json`, { force: true });
    }
  }

  async #persist(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const saved: Persisted = {
      id: this.#id,
      generation: this.#generation,
      desired: this.#desired,
      ...(this.#live ? { live: this.#live.rec } : {}),
      ...(this.#draining.length ? { draining: this.#draining } : {}),
    };
    await this.#ctx.runtime.writeFile(`${this.#dir}/state.json`, JSON.stringify(saved));
  }

  #releaseDir(n: number): string {
    return `${this.#dir}/releases/${n}`;
  }

  #baseEnv(spec: AppRunSpec): Record<string, string> {
    const env: Record<string, string> = {};
    // A container gets its own image's PATH and HOME, nothing of this host's environment.
    if (spec.image !== undefined)
      return { ...spec.env, OUTPOST_APP: this.name, OUTPOST_RELEASE: String(spec.release) };
    for (const name of ["PATH", "HOME", "LANG", "TZ", "USER"]) {
      const v = this.#ctx.runtime.env(name);
      if (v !== undefined) env[name] = v;
    }
    return { ...env, ...spec.env, OUTPOST_APP: this.name, OUTPOST_RELEASE: String(spec.release) };
  }

  /** `${OUTPOST_RUNTIME}` as an argv item is the agent's own runtime, ready to run a script. */
  #argv(cmd: readonly string[]): string[] {
    const runtime = this.#ctx.runtime.name === "deno" ? [execPath, "run", "-A"] : [execPath];
    return cmd.flatMap((item) => (item === RUNTIME_ITEM ? runtime : [item]));
  }

  async #freePort(): Promise<number> {
    const listener = this.#ctx.runtime.listen("127.0.0.1", 0, (conn) => conn.close());
    const port = listener.port;
    listener.close();
    return port;
  }
}

async function _readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

async function _exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function _prepared(got: PrepareStats | undefined): string {
  if (!got) return "already there";
  const f = got.fetch;
  const fetched = f
    ? `fetched: request ${f.requestMs.toFixed(0)} ms, stream ${f.streamMs.toFixed(0)} ms of which writes ${f.diskMs.toFixed(0)} ms and fsync ${f.syncMs.toFixed(0)} ms, ${f.unpackedBytes} bytes unpacked`
    : "";
  if (got.source === "cache") return `from the cache, copy ${got.copyMs.toFixed(0)} ms`;
  if (got.source === "direct") return fetched;
  return `${fetched}; copy ${got.copyMs.toFixed(0)} ms`;
}

function _why(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}
