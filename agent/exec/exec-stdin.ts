// The stdin half of an exec stream (exec.ts): bytes from the control plane are written to the child in
// order, and credit for more is granted only as the pipe takes them, so a child that does not read
// stalls its sender instead of filling the agent's memory. eof closes the child's stdin. Credit goes
// back a quarter window at a time, as the tcp streams' does: granted per write, each keystroke into a
// terminal sent a credit frame through the relay just ahead of its echo, which waited behind it.
import { ProtocolError, ReceiveWindow, type StdinFrame } from "../../schema/protocol/index.ts";
import type { Send } from "../outgoing.ts";

/** Stdin bytes granted right after spawning, and kept in flight at most. */
export const STDIN_WINDOW_BYTES = 256 * 1024;

/** The child's stdin: writes in order, grants credit as the pipe takes bytes, closes on eof. */
export class ExecStdin {
  readonly #sid: number;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #send: Send;
  readonly #fail: (reason: string) => void;
  /** What the control plane may still send: granted and not yet received; granted back as written. */
  readonly #window: ReceiveWindow;
  #queue: Promise<void> = Promise.resolve();
  /** No more bytes are taken: eof came, or the pipe is gone. */
  #closed = false;
  #released = false;

  constructor(
    sid: number,
    stream: WritableStream<Uint8Array>,
    window: number,
    send: Send,
    fail: (reason: string) => void,
  ) {
    this.#sid = sid;
    this.#writer = stream.getWriter();
    this.#send = send;
    this.#fail = fail;
    this.#window = new ReceiveWindow({ batch: Math.max(1, Math.floor(window / 4)) });
    this.#grant(this.#window.grant(window));
  }

  receive(frame: StdinFrame): void {
    if (this.#closed) return; // after eof, or the child closed its stdin: nothing to do with the bytes
    const size = frame.data.length;
    try {
      this.#window.receive(size, "stdin");
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#fail(error.message); // this stream broke the rules, not the link: only it ends
      return;
    }
    const { data, eof } = frame;
    if (eof) this.#closed = true;
    this.#queue = this.#queue
      .then(async () => {
        if (size > 0) {
          await this.#writer.write(data);
          if (!this.#closed) this.#grant(this.#window.consumed(size));
        }
        if (eof) await this.#writer.close();
      })
      .catch(() => this.close()); // the child closed its stdin or exited
  }

  /** Stops writing: after eof, exit, abort, or a broken pipe. */
  close(): void {
    if (this.#released) return;
    this.#closed = true;
    this.#released = true;
    this.#writer.abort().catch(() => {});
  }

  #grant(bytes: number): void {
    if (bytes > 0) this.#send({ t: "credit", sid: this.#sid, bytes });
  }
}
