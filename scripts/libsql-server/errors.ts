// The two kinds of failure in Hrana over HTTP (HRANA_3_SPEC.md §"Hrana over HTTP" › Errors, and the
// `execute`/`batch` request semantics):
//
// - HranaHttpError ends the whole HTTP request with a 4xx/5xx status and a JSON `Error` body; the client
//   treats its stream as gone. Used for protocol violations (bad baton, unknown sql_id, malformed body),
//   auth, and limits. Rendered in one place: http-handler.ts.
// - StmtError fails one stream request; it becomes that request's `{ type: "error" }` result (or a
//   batch step error) and the stream stays usable. SQLite errors always take this path.

/** §Errors. `code` is machine-readable: SQLite's primary result code name or a Hrana-level code. */
export interface HranaErrorBody {
  message: string;
  code: string;
}

export class HranaHttpError extends Error {
  override name = "HranaHttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  toBody(): HranaErrorBody {
    return { message: this.message, code: this.code };
  }
}

/** A protocol violation by the client (HTTP 400), as sqld's `ProtocolError`. */
export function protocolError(code: string, message: string): HranaHttpError {
  return new HranaHttpError(400, code, message);
}

export class StmtError extends Error {
  override name = "StmtError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  toBody(): HranaErrorBody {
    return { message: this.message, code: this.code };
  }
}

/** The shape of the errors the `libsql` package throws (`SqliteError`). */
interface SqliteErrorLike {
  code: string;
  message: string;
}

function isSqliteError(err: unknown): err is SqliteErrorLike {
  const code: unknown = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("SQLITE_");
}

/** True for SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, …). */
export function isBusyError(err: unknown): boolean {
  return isSqliteError(err) && (err.code === "SQLITE_BUSY" || err.code.startsWith("SQLITE_BUSY_"));
}

/** True when a deferred transaction's snapshot went stale: retrying inside it can never succeed. */
export function isBusySnapshotError(err: unknown): boolean {
  return isSqliteError(err) && err.code === "SQLITE_BUSY_SNAPSHOT";
}

/**
 * Turns whatever the `libsql` package threw into a StmtError. The code is SQLite's *primary* result code
 * name (SQLITE_CONSTRAINT, not SQLITE_CONSTRAINT_UNIQUE) and the message reads "SQLite error: …",
 * because that is what sqld/Turso send (libsql-server/src/hrana/stmt.rs, `sqlite_error_code`): code that
 * passes against this server must pass against Turso. The detail ("UNIQUE constraint failed: t.x")
 * stays in the message.
 */
export function toStmtError(err: unknown): StmtError {
  if (err instanceof StmtError) return err;
  if (isSqliteError(err)) {
    const primary = err.code.split("_").slice(0, 2).join("_");
    return new StmtError(primary, `SQLite error: ${err.message}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StmtError("SQLITE_UNKNOWN", `SQLite error: ${message}`);
}
