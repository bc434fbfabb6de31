// One TCP stream (frames.ts, "Flow control and byte streams"): a socket spliced to `data` frames both
// ways under credit-based flow control, with half closes.
//
//   socket → control plane   read only while credit is left (tcp.open's or tcp.opened's, then
//                            `credit` frames), sent as `data` of at most MAX_CHUNK_BYTES; EOF → `fin`
//   control plane → socket   `data` within the window granted, written in order; the bytes are granted
//                            again (`credit`) as the socket takes them, a quarter window at a time;
//                            `fin` → the write side is shut down after the pending writes
//
// Both fins done: the stream is over and forgotten, nothing more is sent. `close` from the control
// plane tears the socket down (once both fins are through, it only stops anything more being sent); a socket error, or a peer breaking the credit rules, is answered with
// `close {reason}`. Memory per stream is bounded: at most the window of unwritten bytes, and what the
// runtime reads ahead of the stream (at most 256 KiB and one read on Bun, bun-tcp.ts) waiting for credit.
import { ProtocolError, ReceiveWindow, SendWindow } from "../../schema/protocol/index.ts";
import { oneLine } from "../errors.ts";
import type { Send } from "../outgoing.ts";
import type { TcpConn } from "../runtime/index.ts";

/**
 * Bytes the control plane may have in flight to one stream (the window the agent grants): 4 MiB, as a
 * client grants (DEFAULT_STREAM_CREDIT). A window caps a stream at window / round trip, so 1 MiB held an
 * upload to a host 30 ms from the edge to 33 MB/s; and each quarter window going back is a signed frame.
 */
export const TCP_WINDOW_BYTES = 4 * 1024 * 1024;

/** Largest close reason on the wire (frames.ts `close`). */
const MAX_REASON = 1024;

export interface TcpStreamOptions {
  sid: number;
  send: Send;
  /** The receive window; credit goes back once a quarter of it has reached the socket. */
  window: number;
  /** Called once when the stream is over, whichever way it ended. */
  onEnd: () => void;
}

export class TcpStream {
  readonly sid: number;
  readonly #options: TcpStreamOptions;
  /** Names the socket in error messages ("127.0.0.1:5432"). */
  #label = "the socket";
  #conn: TcpConn | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** What this side may still send. */
  readonly #sendWindow = new SendWindow();
  /** What the control plane may still send, granted again a quarter window at a time as written. */
  readonly #receiveWindow: ReceiveWindow;
  /** The socket's writes, in order; starts once a socket is attached. */
  #writes: Promise<void>;
  #attached!: () => void;
  #pumping = false;
  #finIn = false;
  #finOut = false;
  #writeShut = false;
  /** The control plane said close after both fins: nothing more goes to it. */
  #peerClosed = false;
  #over = false;

  constructor(options: TcpStreamOptions) {
    this.sid = options.sid;
    this.#options = options;
    this.#receiveWindow = new ReceiveWindow({ batch: Math.max(1, Math.floor(options.window / 4)) });
    this.#writes = new Promise((resolve) => {
      this.#attached = resolve;
    });
  }

  /** Whether the stream has ended (nothing more is sent or written). */
  get over(): boolean {
    return this.#over;
  }

  /** The socket is up: `window` bytes were granted to the control plane (in tcp.open or tcp.opened). */
  attach(conn: TcpConn, label: string, window: number): void {
    if (this.#over) {
      conn.close();
      return;
    }
    this.#conn = conn;
    this.#label = label;
    this.#writer = conn.writable.getWriter();
    this.#receiveWindow.grant(window);
    this.#attached();
  }

  /** The peer can take bytes now (tcp.opened, or our answer to its tcp.open): start reading the socket. */
  begin(): void {
    if (this.#over || this.#pumping || this.#conn === undefined) return;
    this.#pumping = true;
    void this.#pump(this.#conn);
  }

  // ## Frames from the control plane

  credit(bytes: number): void {
    this.#sendWindow.grant(bytes);
  }

  data(data: Uint8Array): void {
    if (this.#over) return;
    if (this.#finIn) {
      this.fail("data after fin");
      return;
    }
    const size = data.length;
    try {
      this.#receiveWindow.receive(size, "data");
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.fail(error.message); // this stream broke the rules, not the link: only it ends
      return;
    }
    if (size === 0) return;
    this.#writes = this.#writes
      .then(async () => {
        if (this.#over) return;
        await this.#writer!.write(data);
        if (this.#finIn) return; // nothing more may come: no credit for it
        const bytes = this.#receiveWindow.consumed(size);
        if (bytes > 0) this.#send({ t: "credit", sid: this.sid, bytes });
      })
      .catch((error) => this.#broken(error));
  }

  fin(): void {
    if (this.#over || this.#finIn) return;
    this.#finIn = true;
    this.#writes = this.#writes
      .then(async () => {
        if (this.#over) return;
        await this.#writer!.close();
        this.#writeShut = true;
        this.#endIfDone();
      })
      .catch((error) => this.#broken(error));
  }

  /**
   * `close` from the control plane: the stream ends at once, except when both fins are through and
   * only bytes already received are still on their way into the socket (a relay closes its end as
   * soon as it saw both fins): those are written, then the write side is shut as promised.
   */
  close(): void {
    if (this.#finIn && this.#finOut) {
      this.#peerClosed = true;
      return;
    }
    this.abort();
  }

  /** Ends the stream at once: the socket is torn down, nothing more is sent. */
  abort(): void {
    if (this.#over) return;
    this.#over = true;
    this.#reader?.cancel().catch(() => {});
    this.#conn?.close();
    this.#sendWindow.close();
    this.#options.onEnd();
  }

  /** Ends the stream and tells the control plane why (`close {reason}`). */
  fail(reason: string): void {
    if (this.#over) return;
    this.#send({ t: "close", sid: this.sid, reason: reason.slice(0, MAX_REASON) });
    this.abort();
  }

  // ## Socket to control plane

  async #pump(conn: TcpConn): Promise<void> {
    const reader = conn.readable.getReader();
    this.#reader = reader;
    try {
      while (await this.#hasCredit()) {
        const { done, value } = await reader.read();
        if (this.#over) return;
        if (done) {
          this.#finOut = true;
          this.#send({ t: "fin", sid: this.sid });
          this.#endIfDone();
          return;
        }
        if (!(await this.#sendBytes(value))) return;
      }
    } catch (error) {
      this.#broken(error);
    }
  }

  /** Sends `bytes` as `data` frames within the credit, waiting for more as needed; false once over. */
  async #sendBytes(bytes: Uint8Array): Promise<boolean> {
    try {
      await this.#sendWindow.send(bytes, (data) => this.#send({ t: "data", sid: this.sid, data }));
    } catch {
      return false; // over: the window was closed
    }
    return !this.#over;
  }

  /** Waits until some credit is granted; false when the stream ended instead. */
  async #hasCredit(): Promise<boolean> {
    try {
      await this.#sendWindow.ready();
    } catch {
      return false;
    }
    return !this.#over;
  }

  // ## Ending

  /** Both fins are through and the write side is shut: the stream is over, without a close. */
  #endIfDone(): void {
    if (this.#finOut && this.#writeShut && !this.#over) {
      this.#over = true;
      this.#conn?.close();
      this.#options.onEnd();
    }
  }

  #broken(error: unknown): void {
    const why = oneLine(error instanceof Error ? error.message : String(error)).replace(
      /\s*\(os error \d+\)$/,
      "",
    );
    this.fail(`connection to ${this.#label} failed (${why.slice(0, 200) || "no reason given"})`);
  }

  #send: Send = (frame) => {
    if (!this.#over && !this.#peerClosed) this.#options.send(frame);
  };
}
