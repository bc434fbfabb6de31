// Open streams, their batons and their expiry (HRANA_3_SPEC.md §"Hrana over HTTP" › Overview: the server
// "will close streams after a short period of inactivity").
//
// A pipeline request leases its stream: a null baton opens a new one; otherwise the baton must carry the
// stream's current sequence number and the stream must not be in use. When the request ends the lease
// either returns a fresh baton (and the idle timer starts) or, if the stream was closed, null. Idle
// streams are closed after `idleTimeoutMs`, which rolls back their open transaction, and their ids are
// remembered for a while so that a late client hears "expired" rather than "invalid".
import { randomBytes } from "node:crypto";
import { decodeBaton, encodeBaton, STREAM_ID_BYTES } from "./baton.ts";
import { HranaHttpError, protocolError } from "./errors.ts";
import { HranaStream } from "./stream.ts";

/** How long the id of an expired stream is remembered (as in sqld). */
const EXPIRED_MEMORY_MS = 5 * 60_000;

export interface StreamRegistryOptions {
  path: string;
  idleTimeoutMs: number;
  busyTimeoutMs: number;
}

export interface StreamLease {
  stream: HranaStream;
  /** Ends the request: the baton for the next one, or null if the stream is closed. */
  release(): string | null;
  /** Ends the request and the stream (after a failed request, as sqld does). */
  discard(): void;
}

interface Entry {
  stream: HranaStream;
  seq: bigint;
  leased: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class StreamRegistry {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, Entry>();
  readonly #expired = new Map<string, number>();
  #closed = false;

  constructor(readonly options: StreamRegistryOptions) {}

  get openStreams(): number {
    return this.#entries.size;
  }

  open(): StreamLease {
    if (this.#closed) throw new HranaHttpError(503, "SERVER_CLOSING", "The server is shutting down");
    const id = randomBytes(STREAM_ID_BYTES).toString("hex");
    const stream = new HranaStream(this.options.path, this.options.busyTimeoutMs);
    const entry: Entry = { stream, seq: randomBytes(8).readBigUInt64BE(), leased: true, timer: undefined };
    this.#entries.set(id, entry);
    return this.#lease(id, entry);
  }

  acquire(baton: string): StreamLease {
    const content = decodeBaton(this.#key, baton);
    const entry = content && this.#entries.get(content.streamId);
    if (!content || !entry) {
      if (content && this.#expired.has(content.streamId)) {
        throw protocolError("STREAM_EXPIRED", "The stream has expired due to inactivity");
      }
      throw protocolError("BATON_INVALID", "Received an invalid baton");
    }
    if (entry.leased || entry.seq !== content.seq) {
      throw protocolError("BATON_REUSED", "Received a baton that has already been used");
    }
    clearTimeout(entry.timer);
    entry.leased = true;
    return this.#lease(content.streamId, entry);
  }

  #lease(id: string, entry: Entry): StreamLease {
    return {
      stream: entry.stream,
      release: () => {
        entry.leased = false;
        if (entry.stream.closed) {
          this.#entries.delete(id);
          return null;
        }
        entry.seq = BigInt.asUintN(64, entry.seq + 1n);
        entry.timer = setTimeout(() => this.#expire(id), this.options.idleTimeoutMs);
        entry.timer.unref();
        return encodeBaton(this.#key, { streamId: id, seq: entry.seq });
      },
      discard: () => {
        entry.stream.close();
        this.#entries.delete(id);
      },
    };
  }

  #expire(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry || entry.leased) return;
    entry.stream.close();
    this.#entries.delete(id);
    const now = Date.now();
    // Insertion order is expiry order, so the forgettable ids are at the front.
    for (const [oldId, expiredAt] of this.#expired) {
      if (now - expiredAt < EXPIRED_MEMORY_MS) break;
      this.#expired.delete(oldId);
    }
    this.#expired.set(id, now);
  }

  /** Closes every stream, leased or not; their open transactions roll back. */
  closeAll(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.timer);
      entry.stream.close();
    }
    this.#entries.clear();
  }
}
