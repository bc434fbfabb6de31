// The state of one Hrana stream: its connection and its stored SQL texts (HRANA_3_SPEC.md §"Hrana over
// HTTP" › Requests: `store_sql` / `close_sql`, whose scope over HTTP is the stream). Batons and expiry
// live in stream-registry.ts.
import { SqlConnection } from "./connection.ts";
import { protocolError, StmtError } from "./errors.ts";

// sqld's limits (libsql-server/src/hrana/http/request.rs), so a client that fits here fits on Turso.
const MAX_STORED_SQLS = 50;
const MAX_STORED_SQL_BYTES = 5000;

export class HranaStream {
  readonly conn: SqlConnection;
  readonly #sqls = new Map<number, string>();
  #closed = false;

  constructor(
    path: string,
    /** How long a statement may wait for the write lock before failing with SQLITE_BUSY. */
    readonly busyTimeoutMs: number,
  ) {
    this.conn = new SqlConnection(path);
  }

  get closed(): boolean {
    return this.#closed;
  }

  storeSql(sqlId: number, sql: string): void {
    if (this.#sqls.has(sqlId)) throw protocolError("SQL_EXISTS", `SQL text ${sqlId} already exists`);
    if (this.#sqls.size >= MAX_STORED_SQLS) {
      throw new StmtError(
        "SQL_STORE_TOO_MANY",
        `The server already stores ${this.#sqls.size} SQL texts, it cannot store more`,
      );
    }
    const bytes = Buffer.byteLength(sql);
    if (bytes > MAX_STORED_SQL_BYTES) {
      throw new StmtError(
        "SQL_STORE_TOO_LARGE",
        `The statement is too large to be stored: ${bytes}/${MAX_STORED_SQL_BYTES} bytes`,
      );
    }
    this.#sqls.set(sqlId, sql);
  }

  /** Closing an unknown id is not an error (§"Close a stored SQL text"). */
  closeSql(sqlId: number): void {
    this.#sqls.delete(sqlId);
  }

  /** The SQL text of a request that names it with exactly one of `sql` and `sql_id` (§Statements). */
  resolveSql(sql: string | null | undefined, sqlId: number | null | undefined): string {
    const hasSql = sql !== undefined && sql !== null;
    const hasId = sqlId !== undefined && sqlId !== null;
    if (hasSql && hasId) {
      throw protocolError("SQL_ID_AND_SQL_GIVEN", "Either `sql` or `sql_id` are required, but not both");
    }
    if (hasSql) return sql;
    if (!hasId) throw protocolError("SQL_ID_OR_SQL_NOT_GIVEN", "Either `sql` or `sql_id` are required");
    const stored = this.#sqls.get(sqlId);
    if (stored === undefined) throw protocolError("SQL_NOT_FOUND", `SQL text ${sqlId} not found`);
    return stored;
  }

  /** Ends the stream; an open transaction is rolled back with the connection. */
  close(): void {
    this.#closed = true;
    this.conn.close();
  }
}
