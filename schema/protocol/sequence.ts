// Per-direction sequence numbers (frames.ts): each side numbers its frames 1, 2, 3, … per connection,
// and refuses any frame whose seq is not above the last one it accepted. Signatures already bind a
// frame to its connection and direction; the sequence stops replays *within* the connection.
// Both classes keep one number, so a Durable Object can store it across hibernation.

import { ProtocolError } from "./errors.ts";

/** The receiving side: remembers the last accepted seq and refuses any that is not higher. */
export class SequenceWindow {
  #last: number;

  /** `last`: the last seq accepted before (0 on a new connection). */
  constructor(last = 0) {
    if (!Number.isSafeInteger(last) || last < 0) {
      throw new RangeError(`Cannot create sequence window: last must be a safe integer ≥ 0, got ${last}`);
    }
    this.#last = last;
  }

  get last(): number {
    return this.#last;
  }

  /** Records `seq`, or throws ProtocolError "replay" (close 4409) when it does not strictly increase. */
  accept(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq <= this.#last) {
      throw new ProtocolError(
        "replay",
        `Cannot accept frame: sequence number ${seq} is not above ${this.#last}`,
      );
    }
    this.#last = seq;
  }
}

/** The sending side: hands out 1, 2, 3, … */
export class SequenceCounter {
  #last: number;

  /** `last`: the last seq sent before (0 on a new connection). */
  constructor(last = 0) {
    if (!Number.isSafeInteger(last) || last < 0) {
      throw new RangeError(`Cannot create sequence counter: last must be a safe integer ≥ 0, got ${last}`);
    }
    this.#last = last;
  }

  get last(): number {
    return this.#last;
  }

  next(): number {
    if (this.#last >= Number.MAX_SAFE_INTEGER)
      throw new RangeError("Cannot number frame: sequence exhausted");
    this.#last += 1;
    return this.#last;
  }
}
