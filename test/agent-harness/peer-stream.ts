// The control plane's end of one TCP stream, for the agent's tcp tests: a test peer on a FakeLink
// (fake-control-plane.ts) that speaks tcp.open / tcp.opened / data / credit / fin / close by the
// protocol's flow-control rules, and checks that the agent keeps to them too: every `data` from the
// agent must fit in the credit this peer granted, or the peer records a violation.
import { createHash } from "node:crypto";
import type { AgentFrame } from "../../schema/protocol/index.ts";
import { MAX_CHUNK_BYTES, SendWindow } from "../../schema/protocol/index.ts";
import type { FakeLink } from "./fake-control-plane.ts";

export interface PeerStreamOptions {
  /** Bytes granted to the agent up front (tcp.open's or tcp.opened's credit). */
  window: number;
  /** Grant consumed bytes back at once (default true); false: only grant() does. */
  autoGrant?: boolean;
}

export class PeerStream {
  readonly link: FakeLink;
  readonly sid: number;
  /** Every violation of the credit rules by the agent, in words. */
  readonly violations: string[] = [];
  readonly chunks: Uint8Array[] = [];
  /** Resolves with the agent's tcp.opened credit, or rejects with its close reason. */
  readonly opened: Promise<number>;
  /** Resolves when the agent sends fin. */
  readonly fin: Promise<void>;
  /** Resolves with the reason when the agent sends close. */
  readonly closed: Promise<string | undefined>;
  /** Frame types from the agent on this stream, in order. */
  readonly types: string[] = [];
  autoGrant: boolean;
  received = 0;
  /** Bytes the agent may send: what this peer granted. */
  granted: number;
  /** What this peer may send: the agent's credit, minus what was sent. */
  readonly #window = new SendWindow();
  #unsubscribe: () => void;
  #dataWaiters: (() => void)[] = [];

  constructor(link: FakeLink, sid: number, options: PeerStreamOptions) {
    this.link = link;
    this.sid = sid;
    this.granted = options.window;
    this.autoGrant = options.autoGrant ?? true;
    let opened!: (credit: number) => void;
    let refused!: (error: Error) => void;
    let fin!: () => void;
    let closed!: (reason: string | undefined) => void;
    this.opened = new Promise((resolve, reject) => {
      opened = resolve;
      refused = reject;
    });
    this.opened.catch(() => {});
    this.fin = new Promise((resolve) => {
      fin = resolve;
    });
    this.closed = new Promise((resolve) => {
      closed = resolve;
    });
    this.#unsubscribe = link.onFrame((frame: AgentFrame) => {
      if (!("sid" in frame) || frame.sid !== sid) return;
      this.types.push(frame.t);
      switch (frame.t) {
        case "tcp.opened":
          this.#addCredit(frame.credit);
          opened(frame.credit);
          break;
        case "credit":
          this.#addCredit(frame.bytes);
          break;
        case "data":
          this.received += frame.data.length;
          if (this.received > this.granted) {
            this.violations.push(`received ${this.received} bytes with ${this.granted} granted`);
          }
          if (frame.data.length > MAX_CHUNK_BYTES) this.violations.push(`a chunk of ${frame.data.length}`);
          this.chunks.push(frame.data);
          if (this.autoGrant && frame.data.length > 0) void this.grant(frame.data.length);
          for (const wake of this.#dataWaiters.splice(0)) wake();
          break;
        case "fin":
          fin();
          break;
        case "close":
          refused(new Error(frame.reason ?? "closed without a reason"));
          closed(frame.reason);
          break;
      }
    });
  }

  /** Opens a stream from the control plane's side (odd sid): tcp.open {target, credit: window}. */
  static open(link: FakeLink, sid: number, target: string | number, options: PeerStreamOptions): PeerStream {
    const peer = new PeerStream(link, sid, options);
    void link.send({ t: "tcp.open", sid, target, credit: options.window });
    return peer;
  }

  /** Answers the agent's tcp.open for this sid with tcp.opened {credit: window}. */
  async accept(agentCredit: number): Promise<void> {
    this.#addCredit(agentCredit);
    await this.link.send({ t: "tcp.opened", sid: this.sid, credit: this.granted });
  }

  /** Accepts the agent's credit from its tcp.open (a stream the agent opened). */
  creditFromOpen(credit: number): void {
    this.#addCredit(credit);
  }

  async grant(bytes: number): Promise<void> {
    this.granted += bytes;
    await this.link.send({ t: "credit", sid: this.sid, bytes });
  }

  /** Sends `bytes` as data frames, never beyond the agent's credit. */
  async write(bytes: Uint8Array, chunk = 64 * 1024): Promise<void> {
    for (let at = 0; at < bytes.length; at += chunk) {
      await this.#window.send(bytes.subarray(at, at + chunk), (data) =>
        this.link.send({ t: "data", sid: this.sid, data }),
      );
    }
  }

  async sendFin(): Promise<void> {
    await this.link.send({ t: "fin", sid: this.sid });
  }

  async close(reason?: string): Promise<void> {
    await this.link.send({ t: "close", sid: this.sid, ...(reason !== undefined ? { reason } : {}) });
  }

  /** Resolves once at least `bytes` have arrived. */
  async waitForBytes(bytes: number, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.received < bytes) {
      if (Date.now() > deadline) throw new Error(`only ${this.received} of ${bytes} bytes within ${ms} ms`);
      await new Promise<void>((resolve) => {
        this.#dataWaiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  sha256(): string {
    return sha256(this.bytes());
  }

  stop(): void {
    this.#unsubscribe();
  }

  #addCredit(bytes: number): void {
    this.#window.grant(bytes);
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
