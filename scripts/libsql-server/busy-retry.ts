// Waiting for SQLite's write lock without blocking other streams.
//
// Every stream has its own connection, so two interactive transactions contend for the one write lock
// (WAL mode: readers never wait, https://sqlite.org/wal.html#concurrency). A statement that gets
// SQLITE_BUSY is retried after a short asynchronous sleep, so the event loop keeps serving the stream that
// holds the lock until it commits; after `timeoutMs` the SQLITE_BUSY error goes to the client. Nothing
// waits forever.
import { CLOSED_MESSAGE, type SqlConnection } from "./connection.ts";
import { isBusyError, isBusySnapshotError } from "./errors.ts";

const FIRST_DELAY_MS = 1;
const MAX_DELAY_MS = 25;

export async function retryWhileBusy<T>(
  conn: SqlConnection,
  timeoutMs: number,
  attempt: () => T,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    try {
      return attempt();
    } catch (err) {
      if (!isBusyError(err)) throw err;
      // Inside a transaction a stale snapshot never becomes fresh again: give up at once.
      const hopeless = isBusySnapshotError(err) && !conn.isAutocommit;
      if (hopeless || Date.now() + delay > deadline) {
        conn.markStale();
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      // The stream may have been closed meanwhile (expiry, shutdown). A statement object would still run
      // on the closed connection, since it keeps it alive: stop here instead.
      if (conn.closed) throw new Error(CLOSED_MESSAGE);
    }
  }
}
