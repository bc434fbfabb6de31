// One VM's serial console, shared: the hub holds the agent's one connection to the VM's console
// socket (QEMU's chardev socket server takes ONE client at a time, so every stream goes through
// here), appends what the guest prints to the VM's bounded history (console-history.ts), fans it out
// to the attached streams, and takes input from the one stream that holds the writer's seat. It
// connects when the VM runs and again when it restarts (VmLookup tells it), and a restarted agent's
// new hub simply connects again: QEMU let go of the old agent's connection when it died.
//
// Memory: the socket is paused while a chunk is fanned out and appended, so at most one read
// (node's 64 KiB) is held here; each stream keeps its own bounded backlog (console-stream.ts).
// A guest that prints faster than the disk takes it is slowed down, like a serial line; one that
// prints faster than a client reads is not (that client's stream drops what it cannot hold).

import { createConnection, type Socket } from "node:net";
import { ConsoleHistory, trimAppendLog } from "./console-history.ts";
import type { VmInstance } from "./driver.ts";
import { type VmLookup, vmDir } from "./vm-lookup.ts";

/** How long a connect to the console socket may take. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Retry a console socket that closed while its VM still runs (QEMU busy restoring, …), this often. */
const RETRY_MS = 1_000;
/** QEMU's own console log is checked against the limit after this many bytes of output. */
const TRIM_EVERY_BYTES = 64 * 1024;

export interface ConsoleListener {
  /** Output from the console, in order. */
  output(bytes: Uint8Array): void;
  /** The console went away: the VM stopped (the hub connects again when it starts). */
  stopped(): void;
  /** The writer left and this listener, which asked to write, holds the seat now. */
  promoted(): void;
}

export interface Attached {
  mode: "write" | "read";
  /** Why a stream that asked to write reads only. */
  reason?: string;
  /** The last lines of history asked for, exactly up to where live output starts. */
  history: Uint8Array;
}

export class ConsoleHub {
  readonly name: string;
  readonly history: ConsoleHistory;
  readonly #lookup: VmLookup;
  readonly #log: (line: string) => void;
  readonly #listeners = new Set<ConsoleListener>();
  #writer: ConsoleListener | undefined;
  /** Who asked to write but got read-only, oldest first: the next writer is the first of them. */
  #waiting: ConsoleListener[] = [];
  #socket: Socket | undefined;
  #instance: VmInstance | undefined;
  #connecting: Promise<void> | undefined;
  /** Fan-out and appends, and attaches between them, in order: one step at a time. */
  #chain: Promise<void> = Promise.resolve();
  #sinceTrim = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(name: string, options: { stateDir: string; lookup: VmLookup; log: (line: string) => void }) {
    this.name = name;
    this.history = new ConsoleHistory(vmDir(options.stateDir, name));
    this.#lookup = options.lookup;
    this.#log = options.log;
  }

  /** Whether the hub is connected to the VM's console. */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /** The running instance, when there is one (whether its console is a socket or a file only). */
  get instance(): VmInstance | undefined {
    return this.#lookup.instance(this.name);
  }

  /** Connects when the VM runs and the hub is not connected yet; resolves once it tried. */
  ensure(): Promise<void> {
    if (this.#closed || this.#socket) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * Attaches `listener` (asking for the writer's seat when `write`), after the output already fanned
   * out, with the last `lines` lines of history up to that point: nothing is missed or repeated.
   */
  attach(listener: ConsoleListener, opts: { write: boolean; lines: number }): Promise<Attached> {
    return this.#step(async () => {
      const history = await this.history.tail(opts.lines);
      this.#listeners.add(listener);
      if (!opts.write) return { mode: "read", history };
      if (this.#writer === undefined) {
        this.#writer = listener;
        return { mode: "write", history };
      }
      this.#waiting.push(listener);
      return {
        mode: "read",
        reason: `another session is writing to ${this.name}'s console: attached read-only (attach again once it detached)`,
        history,
      };
    });
  }

  detach(listener: ConsoleListener): void {
    this.#listeners.delete(listener);
    this.#waiting = this.#waiting.filter((l) => l !== listener);
    if (this.#writer === listener) this.#promote();
  }

  /**
   * The writer left: the oldest attachment that asked to write (and got read-only) takes the seat and
   * is told. One that asked for read-only stays so: it never gains input it did not ask for.
   */
  #promote(): void {
    this.#writer = this.#waiting.shift();
    this.#writer?.promoted();
  }

  /** Types `bytes` on the console: the writer only; resolves once the socket took them. */
  write(listener: ConsoleListener, bytes: Uint8Array): Promise<void> {
    const socket = this.#socket;
    if (this.#writer !== listener) return Promise.reject(new Error("this stream does not hold the console"));
    if (!socket) return Promise.reject(new Error(`${this.name}'s console is not connected`));
    return new Promise((resolve, reject) => {
      socket.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#socket?.destroy();
    this.#socket = undefined;
    for (const listener of [...this.#listeners]) listener.stopped();
    this.#listeners.clear();
    this.#waiting = [];
    this.#writer = undefined;
  }

  async #connect(): Promise<void> {
    const instance = this.#lookup.instance(this.name);
    if (!instance?.consoleSocket) return;
    const socket = createConnection({ path: instance.consoleSocket });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("timed out")), CONNECT_TIMEOUT_MS);
        socket.once("connect", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
    } catch (error) {
      socket.destroy();
      this.#log(
        `cannot connect to ${this.name}'s console: ${error instanceof Error ? error.message : error}`,
      );
      this.#retryLater(instance);
      return;
    }
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay?.(true);
    this.#socket = socket;
    this.#instance = instance;
    socket.on("data", (chunk: Buffer) => {
      socket.pause();
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      void this.#step(async () => {
        for (const listener of this.#listeners) listener.output(bytes);
        await this.history.append(bytes);
        await this.#trim(bytes.length);
      }).finally(() => socket.resume());
    });
    socket.on("error", () => {}); // followed by close
    socket.on("close", () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      // After the output before the close has gone out: listeners hear of the stop last.
      void this.#step(async () => {
        for (const listener of [...this.#listeners]) listener.stopped();
        if (this.#writer && !this.#listeners.has(this.#writer)) this.#promote();
      });
      this.#retryLater(instance);
    });
  }

  /** The VM may still run (its console closed under it): try again while that instance lives. */
  #retryLater(instance: VmInstance): void {
    clearTimeout(this.#retry);
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      if (this.#lookup.instance(this.name) === instance) void this.ensure();
    }, RETRY_MS);
  }

  /** QEMU's own log of the console (its -chardev logfile) grows without end unless trimmed. */
  async #trim(bytes: number): Promise<void> {
    this.#sinceTrim += bytes;
    if (this.#sinceTrim < TRIM_EVERY_BYTES || !this.#instance?.consoleLog) return;
    this.#sinceTrim = 0;
    await trimAppendLog(this.#instance.consoleLog).catch(() => false);
  }

  #step<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(work);
    this.#chain = result.then(
      () => {},
      (error: unknown) =>
        this.#log(`${this.name}'s console: ${error instanceof Error ? error.message : error}`),
    );
    return result;
  }
}

/** The hubs of one identity's VMs: one per VM, made when the lookup first tells of it or a stream asks. */
export class ConsoleHubs {
  readonly #o: { stateDir: string; lookup: VmLookup; log: (line: string) => void };
  readonly #hubs = new Map<string, ConsoleHub>();
  readonly #off: () => void;

  constructor(options: { stateDir: string; lookup: VmLookup; log: (line: string) => void }) {
    this.#o = options;
    this.#off = options.lookup.onChange((name) => {
      try {
        void this.hub(name).ensure();
      } catch {
        // not a VM name: nothing of ours
      }
    });
  }

  get stateDir(): string {
    return this.#o.stateDir;
  }

  /** VM `name`'s hub; RangeError for a name that is not a VM name (vm-lookup.ts). */
  hub(name: string): ConsoleHub {
    let hub = this.#hubs.get(name);
    if (!hub) {
      hub = new ConsoleHub(name, this.#o);
      this.#hubs.set(name, hub);
    }
    return hub;
  }

  /** Connects the hubs of VMs already running (after an agent restart, before any stream asks). */
  watch(names: readonly string[]): void {
    for (const name of names) void this.hub(name).ensure();
  }

  close(): void {
    this.#off();
    for (const hub of this.#hubs.values()) hub.close();
    this.#hubs.clear();
  }
}
