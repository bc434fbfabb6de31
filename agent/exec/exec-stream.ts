// One exec stream (frames.ts, "Exec streams"): argv run directly (no shell), stdin relayed in
// (exec-stdin.ts) and stdout / stderr out under credit-based flow control, and exit once all output is
// sent.
//
// Memory stays bounded: output is read from the child's pipe only while the control plane has granted
// credit, so a slow reader stalls the child (it blocks on a full pipe), not the agent.

import { type ExecOpenFrame, SendWindow, type StdinFrame } from "../../schema/protocol/index.ts";
import type { Send } from "../outgoing.ts";
import { type ChildProcess, type Runtime, SpawnError } from "../runtime/index.ts";
import type { Stream, StreamFrame } from "../stream-table.ts";
import { ExecStdin } from "./exec-stdin.ts";

export interface ExecStreamOptions {
  runtime: Pick<Runtime, "spawn" | "envAll">;
  send: Send;
  stdinWindow: number;
  drainGraceMs: number;
  /** The control plane closed the stream: forget it now (its id may be opened again at once). */
  onClose: () => void;
}

const ENCODER = new TextEncoder();
const GAVE_UP = Symbol("gave up");

/** One exec stream: the process, its pipes, and their credit. */
export class ExecStream implements Stream {
  readonly sid: number;
  readonly done: Promise<void>;
  readonly #options: ExecStreamOptions;
  readonly #readers = new Set<ReadableStreamDefaultReader<Uint8Array>>();
  /** Credit for stdout and stderr together, as the control plane grants it. */
  readonly #window: SendWindow;
  #aborted = false;
  #child: ChildProcess | undefined;
  #exited = false;
  #timedOut = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stdin: ExecStdin | undefined;

  constructor(open: ExecOpenFrame, options: ExecStreamOptions) {
    this.sid = open.sid;
    this.#options = options;
    this.#window = new SendWindow({ credit: open.credit });
    this.done = this.#run(open).catch((error) => {
      // A bug here must not leave the control plane waiting for an exit that never comes.
      const why = error instanceof Error ? error.message : String(error);
      this.#fail(`internal error in the agent: ${why}`.slice(0, 1024));
    });
  }

  receive(frame: StreamFrame): void {
    switch (frame.t) {
      case "credit":
        this.credit(frame.bytes);
        return;
      case "stdin":
        this.stdin(frame);
        return;
      case "signal":
        this.signal(frame.name);
        return;
      case "close":
        this.#options.onClose();
        this.abort();
        return;
    }
  }

  credit(bytes: number): void {
    this.#window.grant(bytes);
  }

  stdin(frame: StdinFrame): void {
    this.#stdin?.receive(frame);
  }

  signal(name: string): void {
    if (this.#child === undefined || this.#exited) return;
    try {
      this.#child.kill(name);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.#send({ t: "error", sid: this.sid, code: "bad_signal", message: why.slice(0, 1024) });
    }
  }

  /** Ends the stream at once: the process is killed and nothing more is sent. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    clearTimeout(this.#timer);
    this.#kill("SIGKILL");
    this.#stdin?.close();
    for (const reader of this.#readers) reader.cancel().catch(() => {});
    this.#window.close();
  }

  async #run(open: ExecOpenFrame): Promise<void> {
    const { runtime } = this.#options;
    let child: ChildProcess;
    try {
      const env = open.env === undefined ? undefined : { ...runtime.envAll(), ...open.env };
      child = runtime.spawn(open.argv, {
        ...(open.cwd !== undefined ? { cwd: open.cwd } : {}),
        ...(env !== undefined ? { env } : {}),
      });
    } catch (error) {
      // Exit codes as a shell reports them: 126 found but not executable, 127 not found.
      const code = error instanceof SpawnError && error.reason === "permission" ? 126 : 127;
      const why = error instanceof Error ? error.message : String(error);
      await this.#sendBytes("stderr", ENCODER.encode(`outpost-agent: cannot run ${why}\n`));
      if (!this.#aborted) this.#send({ t: "exit", sid: this.sid, code });
      return;
    }
    this.#child = child;
    if (this.#aborted) return this.#kill("SIGKILL");
    const exited = child.exited.then((status) => {
      this.#exited = true;
      clearTimeout(this.#timer);
      this.#stdin?.close();
      return status;
    });
    this.#stdin = new ExecStdin(this.sid, child.stdin, this.#options.stdinWindow, this.#options.send, (r) =>
      this.#fail(r),
    );
    if (open.timeout !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        this.#kill("SIGKILL");
      }, open.timeout);
    }
    const [status] = await Promise.all([
      exited,
      this.#pump("stdout", child.stdout, exited),
      this.#pump("stderr", child.stderr, exited),
    ]);
    if (this.#timedOut) {
      await this.#sendBytes("stderr", ENCODER.encode(`outpost-agent: timed out after ${open.timeout} ms\n`));
    }
    if (this.#aborted) return;
    this.#send({
      t: "exit",
      sid: this.sid,
      code: status.code,
      ...(status.signal !== undefined ? { signal: status.signal } : {}),
    });
  }

  /** Relays one pipe, reading only while there is credit to send what it reads. */
  async #pump(kind: "stdout" | "stderr", stream: ReadableStream<Uint8Array>, exited: Promise<unknown>) {
    const reader = stream.getReader();
    this.#readers.add(reader);
    try {
      while (await this.#hasCredit()) {
        const result = await this.#read(reader, exited);
        if (result.done) break;
        if (!(await this.#sendBytes(kind, result.value))) break;
      }
    } catch {
      // A broken pipe ends this output; the exit still follows.
    } finally {
      this.#readers.delete(reader);
      reader.cancel().catch(() => {});
    }
  }

  async #read(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    exited: Promise<unknown>,
  ): Promise<ReadableStreamReadResult<Uint8Array>> {
    const read = reader.read();
    if (!this.#exited) {
      const first = await Promise.race([read, exited.then((): typeof GAVE_UP => GAVE_UP)]);
      if (first !== GAVE_UP) return first;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<typeof GAVE_UP>((resolve) => {
      timer = setTimeout(() => resolve(GAVE_UP), this.#options.drainGraceMs);
    });
    const result = await Promise.race([read, grace]);
    clearTimeout(timer);
    if (result !== GAVE_UP) return result;
    await reader.cancel().catch(() => {});
    return { done: true, value: undefined };
  }

  /** Sends `bytes` as frames of `kind` within the credit, waiting for more as needed; false if aborted. */
  async #sendBytes(kind: "stdout" | "stderr", bytes: Uint8Array): Promise<boolean> {
    try {
      await this.#window.send(bytes, (data) => this.#send({ t: kind, sid: this.sid, data }));
    } catch {
      return false; // aborted: the window was closed
    }
    return !this.#aborted;
  }

  /** Waits until some credit is granted; false when the stream was aborted instead. */
  async #hasCredit(): Promise<boolean> {
    try {
      await this.#window.ready();
    } catch {
      return false;
    }
    return !this.#aborted;
  }

  #send: Send = (frame) => {
    if (!this.#aborted) this.#options.send(frame);
  };

  #kill(signal: string): void {
    if (this.#child === undefined || this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {}
  }

  /** The control plane broke this stream's rules: end it, and say why. */
  #fail(reason: string): void {
    this.#send({ t: "close", sid: this.sid, reason });
    this.abort();
  }
}
