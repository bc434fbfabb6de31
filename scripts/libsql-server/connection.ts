// One SQLite connection to the database file, as a Hrana stream owns it (HRANA_3_SPEC.md §Overview: "Each
// stream corresponds to a SQLite connection"), on top of the `libsql` package.
import Database from "libsql";

export type SqliteStatement = Database.Statement;

export const CLOSED_MESSAGE = "Cannot run SQL: the stream's connection is closed";

export interface StatementCounters {
  affectedRowCount: number;
  lastInsertRowid: bigint;
}

function _open(path: string): Database.Database {
  const db = new Database(path);
  // No SQLite busy handler: it would sleep inside a synchronous call and freeze the event loop, so the
  // connection holding the lock could never commit. Waiting happens in busy-retry.ts instead.
  db.exec("PRAGMA busy_timeout = 0");
  // The file is in WAL mode (server.ts): NORMAL syncs the WAL at checkpoints, not at every commit, and
  // stays corruption-safe (https://sqlite.org/pragma.html#pragma_synchronous: "WAL mode is always
  // consistent with synchronous=NORMAL"); a power cut may lose the latest commits, never the file.
  // FULL, SQLite's default, made every commit wait for an fsync (6 ms on this machine's disk): the one
  // writer then took 150 commits/s, a tenth of what the fleet bench asks (README "Fleet scale").
  db.exec("PRAGMA synchronous = NORMAL");
  return db;
}

export class SqlConnection {
  #db: Database.Database;
  #counters: SqliteStatement;
  #totalChanges = 0n;
  #stale = false;
  #readonlyTxn = false;
  #closed = false;

  constructor(readonly path: string) {
    this.#db = _open(path);
    this.#counters = this.#prepareCounters();
  }

  #prepareCounters(): SqliteStatement {
    return this.#db
      .prepare("SELECT total_changes(), changes(), last_insert_rowid()")
      .raw(true)
      .safeIntegers(true);
  }

  /** Outside of an explicit transaction (`get_autocommit`, the `is_autocommit` batch condition). */
  get isAutocommit(): boolean {
    return this.#closed || !this.#db.inTransaction;
  }

  get closed(): boolean {
    return this.#closed;
  }

  prepare(sql: string): SqliteStatement {
    if (this.#closed) throw new Error(CLOSED_MESSAGE);
    return this.#db.prepare(sql);
  }

  /**
   * Affected rows and last rowid after a statement. changes() keeps the count of the last INSERT, UPDATE
   * or DELETE even across DDL and SELECTs, so a statement that did not move total_changes() affected 0.
   */
  readCounters(): StatementCounters {
    const row = this.#counters.get() as [bigint, bigint, bigint];
    const [total, changes, lastInsertRowid] = row;
    const affectedRowCount = total === this.#totalChanges ? 0 : Number(changes);
    this.#totalChanges = total;
    return { affectedRowCount, lastInsertRowid };
  }

  /**
   * Makes the transaction just opened by `BEGIN TRANSACTION READONLY` (what @libsql/client's
   * transaction("read") sends) refuse writes with SQLITE_READONLY. The libSQL engine parses that syntax
   * but, in the `libsql` package, lets writes through; `PRAGMA query_only` makes SQLite refuse them.
   */
  beginReadonlyTransaction(): void {
    this.#db.exec("PRAGMA query_only = 1");
    this.#readonlyTxn = true;
  }

  /** Lifts query_only once the read-only transaction has ended (COMMIT, ROLLBACK or an error). */
  endReadonlyTransactionIfOver(): void {
    if (!this.#readonlyTxn || this.#closed || !this.isAutocommit) return;
    this.#db.exec("PRAGMA query_only = 0");
    this.#readonlyTxn = false;
  }

  /**
   * The `libsql` package does not reset a statement that failed with SQLITE_BUSY: it stays active until it
   * is garbage-collected. While it is, the connection's transaction cannot end: a later write in
   * autocommit mode reports success but stays uncommitted and keeps the write lock, and inside an
   * explicit transaction the snapshot stays old (SQLITE_BUSY_SNAPSHOT). Such a connection is replaced
   * (renewIfStale) as soon as it is outside any explicit transaction.
   */
  markStale(): void {
    this.#stale = true;
  }

  renewIfStale(): void {
    if (!this.#stale || this.#closed || !this.isAutocommit) return;
    this.#db.close();
    this.#db = _open(this.path);
    this.#counters = this.#prepareCounters();
    this.#totalChanges = 0n;
    this.#stale = false;
    this.#readonlyTxn = false;
  }

  /** Ends the connection, rolling back its open transaction. */
  close(): void {
    if (this.#closed) return;
    // Explicitly: the `libsql` package's close() only drops the database's own reference, and every
    // statement object not yet garbage-collected keeps the connection (and its write lock) alive.
    try {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
    } finally {
      this.#closed = true;
      this.#db.close();
    }
  }
}
