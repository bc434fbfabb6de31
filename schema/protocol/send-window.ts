// The sending half of a stream's flow control (frames.ts, "Flow control"): credit the peer granted.
// A sender waits until it has credit, sends at most min(credit, max chunk, what is left) per frame and
// counts it off, so it never has more in flight than its receiver agreed to hold. One class for every
// hop (agent exec and tcp, the Worker's exposure stream, the SDK), so the rule is written once.

import { ProtocolError } from "./errors.ts";
import { MAX_CHUNK_BYTES, MAX_CREDIT } from "./limits.ts";

export interface SendWindowOptions {
  /** Credit granted before the first frame (an open's `credit`); 0 by default. */
  credit?: number;
  /** Largest chunk one frame may carry (MAX_CHUNK_BYTES by default). */
  maxChunk?: number;
}

export class SendWindow {
  readonly #maxChunk: number;
  #credit = 0;
  #waiters: (() => void)[] = [];
  /** Why nothing more may be sent; set once by close(). */
  #closed: Error | undefined;

  constructor(options: SendWindowOptions = {}) {
    const maxChunk = options.maxChunk ?? MAX_CHUNK_BYTES;
    if (!Number.isSafeInteger(maxChunk) || maxChunk < 1 || maxChunk > MAX_CHUNK_BYTES) {
      throw new RangeError(
        `Cannot create send window: maxChunk must be 1..${MAX_CHUNK_BYTES}, got ${maxChunk}`,
      );
    }
    this.#maxChunk = maxChunk;
    this.grant(options.credit ?? 0);
  }

  /** Bytes that may be sent now. */
  get credit(): number {
    return this.#credit;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * The peer lets us send `bytes` more (a `credit` frame, or an open's `credit`). Throws ProtocolError
   * "malformed" (4400) for a grant that is not an integer in 0..MAX_CREDIT or that would leave more
   * than MAX_CREDIT in hand: the frame decoders bound one grant, this bounds their sum.
   */
  grant(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_CREDIT) {
      throw new ProtocolError(
        "malformed",
        `Cannot grant credit: ${bytes} is not an integer in 0..${MAX_CREDIT}`,
      );
    }
    if (this.#credit + bytes > MAX_CREDIT) {
      throw new ProtocolError(
        "malformed",
        `Cannot grant credit: ${bytes} more bytes on top of ${this.#credit} exceed ${MAX_CREDIT}`,
      );
    }
    if (this.#closed) return;
    this.#credit += bytes;
    if (this.#credit > 0) this.#wake();
  }

  /**
   * Takes the credit for one frame of up to `n` bytes: returns min(credit, max chunk, n) and counts it
   * off (0 when there is no credit, or the window is closed).
   */
  take(n: number): number {
    if (this.#closed) return 0;
    const size = Math.min(this.#credit, this.#maxChunk, Math.max(0, Math.floor(n)));
    this.#credit -= size;
    return size;
  }

  /** Resolves once some credit is in hand; rejects with close()'s error once the window is closed. */
  async ready(): Promise<void> {
    while (this.#credit <= 0 || this.#closed) {
      if (this.#closed) throw this.#closed;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /**
   * Sends all of `bytes` as frames made by `emit`, each within the credit and the max chunk, waiting
   * for more credit as needed. Rejects with close()'s error if the window closes first (what was
   * emitted before stays sent). Several senders may share one window (stdout and stderr do).
   */
  async send(bytes: Uint8Array, emit: (chunk: Uint8Array) => unknown): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      // Only wait when out of credit: an await per chunk would cost the bulk path a microtask each.
      if (this.#credit <= 0 || this.#closed) await this.ready();
      const n = this.take(bytes.length - off);
      if (n === 0) continue; // another sender on this window took the credit first
      const sent = emit(bytes.subarray(off, off + n));
      off += n;
      if (sent instanceof Promise) await sent;
    }
  }

  /** Nothing more may be sent: wakes every waiter with `error`. Later calls keep the first error. */
  close(error: Error = new Error("Cannot send: the stream is closed")): void {
    this.#closed ??= error;
    this.#credit = 0;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
