// The receiving half of a stream's flow control (frames.ts, "Flow control"): credit this side granted.
// Every chunk that arrives is counted against what is left, and one beyond it is a breach (ProtocolError
// "too_big", close 4413: the peer sent more than the receiver agreed to hold). As the reader consumes,
// credit goes back in batches (a quarter window by default), so one `credit` frame covers several
// chunks and the sender never stalls on a full window. Its state is one number (`left`), so a Durable
// Object can keep it in a socket attachment across hibernation, like SequenceWindow.

import { ProtocolError } from "./errors.ts";
import { MAX_CREDIT } from "./limits.ts";

export interface ReceiveWindowOptions {
  /** Credit the peer holds now: the window granted at open (or a stored `left`). 0 by default. */
  left?: number;
  /** Consumed bytes to gather before granting them back (consumed()); 1 grants each at once. */
  batch?: number;
  /** The most the peer may hold at once: grant() trims beyond it (MAX_CREDIT by default). */
  max?: number;
  /** Who granted, for the breach message: "the client granted on stream 3". Default "granted". */
  grantor?: string;
}

export class ReceiveWindow {
  readonly #batch: number;
  readonly #max: number;
  readonly #grantor: string;
  #left: number;
  /** Consumed and not yet granted back. */
  #pending = 0;

  constructor(options: ReceiveWindowOptions = {}) {
    const { left = 0, batch = 1, max = MAX_CREDIT } = options;
    _check("max", max, 1, MAX_CREDIT);
    _check("left", left, 0, max);
    _check("batch", batch, 1, max);
    this.#left = left;
    this.#batch = batch;
    this.#max = max;
    this.#grantor = options.grantor ?? "granted";
  }

  /** A window of `window` bytes, granted at open, handed back a quarter window at a time. */
  static quarter(window: number, options: Omit<ReceiveWindowOptions, "left" | "batch"> = {}): ReceiveWindow {
    return new ReceiveWindow({ ...options, left: window, batch: Math.max(1, Math.floor(window / 4)) });
  }

  /** Bytes the peer may still send. */
  get left(): number {
    return this.#left;
  }

  /** Bytes consumed and not yet granted back. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * `size` bytes of `what` ("data", "stdin", "stdout of …") arrived: counts them off, or throws
   * ProtocolError "too_big" (close 4413) when they exceed what is left, leaving the window as it was.
   */
  receive(size: number, what = "data"): void {
    if (size > this.#left) {
      throw new ProtocolError(
        "too_big",
        `${what} of ${size} bytes exceeds the ${this.#left} bytes of credit ${this.#grantor}`,
      );
    }
    this.#left -= size;
  }

  /**
   * The reader consumed `size` bytes: returns how much credit to grant back now (0 until a batch has
   * gathered), already counted as granted. Send it in a `credit` frame when it is above 0.
   */
  consumed(size: number): number {
    this.#pending += size;
    if (this.#pending < this.#batch) return 0;
    const bytes = this.grant(this.#pending);
    this.#pending = 0;
    return bytes;
  }

  /**
   * Grants `bytes` more now, trimmed so the peer never holds more than `max`: returns what was granted
   * (pass exactly that on). A relay uses this to bound what it may have to hold for a reader that
   * grants and never reads.
   */
  grant(bytes: number): number {
    const granted = Math.max(0, Math.min(bytes, this.#max - this.#left));
    this.#left += granted;
    return granted;
  }
}

function _check(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot create receive window: ${name} must be an integer in ${min}..${max}, got ${value}`,
    );
  }
}
