// One pty stream (frames.ts, "PTY streams"): a process on a pseudo-terminal, its output relayed as
// stdout under the control plane's credit (read only while there is credit: a slow viewer stalls the
// terminal, not the agent's memory), its input from stdin (exec-stdin.ts: credit as the terminal takes
// bytes), resize and signals, and exit once the output is drained.
import { type PtyOpenFrame, SendWindow } from "../../schema/protocol/index.ts";
import { ExecStdin } from "../exec/index.ts";
import type { Send } from "../outgoing.ts";
import { type PtyProcess, SpawnError } from "../runtime/index.ts";
import type { Stream, StreamFrame } from "../stream-table.ts";

export interface PtyStreamOptions {
  /** Starts argv on a pty (the runtime's, or script-pty.ts). Throws SpawnError. */
  spawn: (argv: readonly string[]) => PtyProcess;
  argv: readonly string[];
  send: Send;
  stdinWindow: number;
  drainGraceMs: number;
  onClose: () => void;
}

const ENCODER = new TextEncoder();
const GAVE_UP = Symbol("gave up");

export class PtyStream implements Stream {
  readonly sid: number;
  readonly done: Promise<void>;
  readonly #o: PtyStreamOptions;
  readonly #window: SendWindow;
  #pty: PtyProcess | undefined;
  #stdin: ExecStdin | undefined;
  #aborted = false;
  #exited = false;

  constructor(open: PtyOpenFrame, options: PtyStreamOptions) {
    this.sid = open.sid;
    this.#o = options;
    this.#window = new SendWindow({ credit: open.credit });
    this.done = this.#run().catch((error) => {
      const why = error instanceof Error ? error.message : String(error);
      this.#send({ t: "close", sid: this.sid, reason: `internal error in the agent: ${why}`.slice(0, 1024) });
      this.abort();
    });
  }

  receive(frame: StreamFrame): void {
    switch (frame.t) {
      case "credit":
        this.#window.grant(frame.bytes);
        return;
      case "stdin":
        this.#stdin?.receive(frame);
        return;
      case "resize":
        if (!this.#exited) this.#pty?.resize(frame.cols, frame.rows);
        return;
      case "signal":
        if (this.#exited) return;
        try {
          this.#pty?.kill(frame.name);
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          this.#send({ t: "error", sid: this.sid, code: "bad_signal", message: why.slice(0, 1024) });
        }
        return;
      case "close":
        this.#o.onClose();
        this.abort();
        return;
    }
  }

  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#window.close();
    this.#stdin?.close();
    if (this.#pty && !this.#exited) {
      try {
        this.#pty.kill("SIGKILL");
      } catch {}
    }
    this.#pty?.close();
  }

  async #run(): Promise<void> {
    let pty: PtyProcess;
    try {
      pty = this.#o.spawn(this.#o.argv);
    } catch (error) {
      const code = error instanceof SpawnError && error.reason === "permission" ? 126 : 127;
      const why = error instanceof Error ? error.message : String(error);
      await this.#output(ENCODER.encode(`outpost-agent: cannot run ${why}\r\n`));
      if (!this.#aborted) this.#send({ t: "exit", sid: this.sid, code });
      return;
    }
    this.#pty = pty;
    if (this.#aborted) return this.abort();
    const exited = pty.exited.then((status) => {
      this.#exited = true;
      this.#stdin?.close();
      return status;
    });
    this.#stdin = new ExecStdin(this.sid, pty.input, this.#o.stdinWindow, this.#o.send, (reason) => {
      this.#send({ t: "close", sid: this.sid, reason });
      this.abort();
    });
    const [status] = await Promise.all([exited, this.#pump(pty.output, exited)]);
    pty.close();
    if (this.#aborted) return;
    this.#send({
      t: "exit",
      sid: this.sid,
      code: status.code,
      ...(status.signal !== undefined ? { signal: status.signal } : {}),
    });
  }

  /** Relays the terminal's output while there is credit; after the exit, for a grace period at most. */
  async #pump(output: ReadableStream<Uint8Array>, exited: Promise<unknown>): Promise<void> {
    const reader = output.getReader();
    try {
      while (!this.#aborted) {
        try {
          await this.#window.ready();
        } catch {
          return;
        }
        const read = reader.read();
        let result: ReadableStreamReadResult<Uint8Array> | typeof GAVE_UP = this.#exited
          ? GAVE_UP
          : await Promise.race([read, exited.then((): typeof GAVE_UP => GAVE_UP)]);
        if (result === GAVE_UP) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const grace = new Promise<typeof GAVE_UP>((r) => {
            timer = setTimeout(() => r(GAVE_UP), this.#o.drainGraceMs);
          });
          result = await Promise.race([read, grace]);
          clearTimeout(timer);
          if (result === GAVE_UP) return;
        }
        if (result.done) return;
        if (!(await this.#output(result.value))) return;
      }
    } catch {
      // A terminal whose other side is gone (EIO once the child exits) ends the output.
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  async #output(bytes: Uint8Array): Promise<boolean> {
    try {
      await this.#window.send(bytes, (data) => this.#send({ t: "stdout", sid: this.sid, data }));
    } catch {
      return false;
    }
    return !this.#aborted;
  }

  #send: Send = (frame) => {
    if (!this.#aborted) this.#o.send(frame);
  };
}
