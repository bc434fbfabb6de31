// One side of one connection: seals outgoing frames with the next seq and opens incoming ones through
// a SequenceWindow, one at a time. Verification is async and may finish out of order (WebCrypto runs
// on a thread pool in some runtimes), so opening two messages at once could see seq 2 before seq 1
// and refuse a frame that was fine. The channel chains them in arrival order instead.
// Its state is two numbers (`sent`, `received`); a Durable Object stores them to survive hibernation.

import type { DataKey } from "./data-key.ts";
import { type OpenContext, openFrame, sealFrame, type VerifierLookup } from "./envelope.ts";
import type { AgentFrame, ControlPlaneFrame, Direction, Unsequenced } from "./frames.ts";
import type { ConnectionId } from "./keys.ts";
import { SequenceCounter, SequenceWindow } from "./sequence.ts";
import type { Signer } from "./sign.ts";

export type Side = "cp" | "agent";

/** The frames `side` sends. */
export type FrameSentBy<S extends Side> = S extends "cp" ? ControlPlaneFrame : AgentFrame;
/** The frames `side` receives. */
export type FrameReceivedBy<S extends Side> = S extends "cp" ? AgentFrame : ControlPlaneFrame;
export type { Unsequenced } from "./frames.ts";

export interface FrameChannelOptions<S extends Side> {
  side: S;
  connectionId: ConnectionId;
  /** This side's key. */
  signer: Signer;
  /** The peer's key(s). */
  keys: VerifierLookup;
  /** Last seq sent and received before (restored state); 0 on a new connection. */
  sent?: number;
  received?: number;
}

export class FrameChannel<S extends Side> {
  readonly side: S;
  readonly connectionId: ConnectionId;
  readonly #signer: Signer;
  readonly #keys: VerifierLookup;
  readonly #counter: SequenceCounter;
  readonly #window: SequenceWindow;
  /** Capability 2 data keys (data-key.ts), once the handshake agreed them. */
  #sendKey: DataKey | undefined;
  #receiveKey: DataKey | undefined;
  #sealing: Promise<unknown> = Promise.resolve();
  #opening: Promise<unknown> = Promise.resolve();

  constructor(options: FrameChannelOptions<S>) {
    if (options.side !== "cp" && options.side !== "agent") {
      throw new TypeError(
        `Cannot create frame channel: side must be "cp" or "agent", got ${String(options.side)}`,
      );
    }
    this.side = options.side;
    this.connectionId = options.connectionId;
    this.#signer = options.signer;
    this.#keys = options.keys;
    this.#counter = new SequenceCounter(options.sent);
    this.#window = new SequenceWindow(options.received);
  }

  /** Last seq sent. */
  get sent(): number {
    return this.#counter.last;
  }

  /** Last seq received and accepted. */
  get received(): number {
    return this.#window.last;
  }

  /**
   * From now on, data frames (DATA_FRAME_TYPES) are sealed with `send` and must arrive MAC'd with
   * `receive` (this side's keys for its outgoing and incoming directions, from KeyExchange.finish).
   */
  useDataKeys(send: DataKey, receive: DataKey): void {
    this.#sendKey = send;
    this.#receiveKey = receive;
  }

  get #outgoing(): Direction {
    return this.side === "cp" ? "cp>agent" : "agent>cp";
  }

  /**
   * The message for `frame`, numbered with the next seq. Seals resolve in call order, so sending each
   * result as it resolves keeps the seqs in order on the wire.
   */
  seal(frame: Unsequenced<FrameSentBy<S>>): Promise<Uint8Array> {
    const numbered = { ...frame, seq: this.#counter.next() } as unknown as FrameSentBy<S>;
    const ctx = {
      connectionId: this.connectionId,
      direction: this.#outgoing,
      ...(this.#sendKey ? { dataKey: this.#sendKey } : {}),
    };
    const sealed = this.#sealing.then(() => sealFrame(numbered, this.#signer, ctx));
    this.#sealing = sealed.catch(() => {});
    return sealed;
  }

  /** The frame in `message`; messages are opened one at a time, in the order of the calls. */
  open(message: Uint8Array | ArrayBuffer): Promise<FrameReceivedBy<S>> {
    const incoming = this.side === "cp" ? "agent>cp" : "cp>agent";
    const ctx: OpenContext = {
      connectionId: this.connectionId,
      direction: incoming,
      guard: this.#window,
      ...(this.#receiveKey ? { dataKey: this.#receiveKey } : {}),
    };
    const opened = this.#opening.then(() => openFrame(message, this.#keys, ctx));
    this.#opening = opened.catch(() => {});
    return opened as Promise<FrameReceivedBy<S>>;
  }
}
