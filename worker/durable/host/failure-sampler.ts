// Failures before a connection has proved who it is (unknown or revoked host, bad signature, malformed
// frames, anything before the hello's signature checks out) are counted and sampled, not written one by
// one: anyone who knows a host id can cause them, and one audit row each let an attacker flood the
// tenant's audit log in the host's name and cost a database write per attempt. Instead the object
// writes one `agent.protocol_error` event per SAMPLE_WINDOW_MS at most, carrying how many failures it
// stands for, by close code. The first is written SAMPLE_DELAY_MS after the first failure, so that a
// burst shows up as one event with its count. The counts live in the object's memory only: an object
// evicted before it writes them loses at most one window's count, never more.

/** How long the first failure waits for others to join its event. */
export const SAMPLE_DELAY_MS = 3_000;
/** At most one sampled event per host per window. */
export const SAMPLE_WINDOW_MS = 60_000;

/** What one sampled event says. */
export interface FailureSample {
  action: string;
  /** The first failure's reason and close code, as an unsampled event would have them. */
  reason: string;
  close: number;
  /** How many failures the event stands for, all of them and by close code. */
  count: number;
  closes: Record<string, number>;
  since: number;
}

export class FailureSampler {
  #pending: FailureSample | undefined;
  #lastWritten = Number.NEGATIVE_INFINITY;

  /** Counts one failure at `now`; returns when the pending event is due. */
  record(action: string, reason: string, close: number, now: number): number {
    this.#pending ??= { action, reason, close, count: 0, closes: {}, since: now };
    const p = this.#pending;
    p.count += 1;
    p.closes[close] = (p.closes[close] ?? 0) + 1;
    return this.dueAt()!;
  }

  /** When the pending event may be written, or undefined when nothing is pending. */
  dueAt(): number | undefined {
    if (!this.#pending) return undefined;
    return Math.max(this.#pending.since + SAMPLE_DELAY_MS, this.#lastWritten + SAMPLE_WINDOW_MS);
  }

  /** The pending event if it is due at `now` (and forgets it), else undefined. */
  take(now: number): FailureSample | undefined {
    const due = this.dueAt();
    if (due === undefined || now < due) return undefined;
    const p = this.#pending;
    this.#pending = undefined;
    this.#lastWritten = now;
    return p;
  }
}
