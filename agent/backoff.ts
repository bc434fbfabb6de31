// Reconnect delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
// And Jitter", 2015). A fleet that lost its control plane at the same moment comes back spread out
// over the whole window instead of in synchronised waves.

/** First window: 500 ms. */
const BACKOFF_BASE_MS = 500;
/** Windows stop doubling here: 30 s. */
export const BACKOFF_CAP_MS = 30_000;

/** The upper bound of the delay before reconnect attempt `attempt` (0 = the first retry). */
export function backoffWindow(attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(`Cannot compute backoff: attempt must be an integer ≥ 0, got ${attempt}`);
  }
  // 2^attempt overflows to Infinity long after it passed the cap; min() keeps it exact below.
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 32));
}

/** The delay before reconnect attempt `attempt`: uniform in [0, backoffWindow(attempt)). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffWindow(attempt));
}
