// Running one statement on a stream: the `execute` request, and every step of `batch` and `sequence`
// (HRANA_3_SPEC.md §"Execute a statement", §Statements, §"Statement results").
//
// Compiling (which SQL, exactly one statement, which kind of arguments) is separate from running because
// sqld checks the former for all steps of a batch before running any, and the latter per step.
import { bindArgs } from "./bind-args.ts";
import { retryWhileBusy } from "./busy-retry.ts";
import { StmtError, toStmtError } from "./errors.ts";
import type { Col, NamedArg, Stmt, StmtResult, Value } from "./protocol.ts";
import { type SqlStatement, splitStatements } from "./sql-statements.ts";
import type { HranaStream } from "./stream.ts";
import { encodeValue } from "./values.ts";

/** libSQL's read-only transaction syntax: `BEGIN [TRANSACTION] READONLY`. */
const BEGIN_READONLY = /^BEGIN\s+(?:TRANSACTION\s+)?READONLY\b/i;

export interface CompiledStmt {
  statement: SqlStatement;
  args: readonly Value[];
  namedArgs: readonly NamedArg[];
  wantRows: boolean;
}

/** The one statement in `sql`, as sqld demands for `execute`, batch steps and `describe`. */
export function parseSingleStatement(sql: string): SqlStatement {
  const statements = splitStatements(sql);
  const [first] = statements;
  if (first === undefined) {
    throw new StmtError("SQL_NO_STATEMENT", "SQL string does not contain any statement");
  }
  if (statements.length > 1) {
    throw new StmtError("SQL_MANY_STATEMENTS", "SQL string contains more than one statement");
  }
  return first;
}

export function compileStmt(stream: HranaStream, stmt: Stmt): CompiledStmt {
  const statement = parseSingleStatement(stream.resolveSql(stmt.sql, stmt.sql_id));
  const args = stmt.args ?? [];
  const namedArgs = stmt.named_args ?? [];
  if (args.length > 0 && namedArgs.length > 0) {
    throw new StmtError(
      "ARGS_BOTH_POSITIONAL_AND_NAMED",
      "Specifying both positional and named arguments is not supported",
    );
  }
  return { statement, args, namedArgs, wantRows: stmt.want_rows ?? true };
}

/** Runs a compiled statement. Every failure comes out as a StmtError. */
export async function runCompiled(stream: HranaStream, compiled: CompiledStmt): Promise<StmtResult> {
  const started = performance.now();
  const { conn, busyTimeoutMs } = stream;
  const { statement } = compiled;
  try {
    const values = bindArgs(
      statement.params,
      compiled.args,
      compiled.namedArgs,
      statement.firstKeyword === "EXPLAIN",
    );
    const stmt = await retryWhileBusy(conn, busyTimeoutMs, () => conn.prepare(statement.sql));
    let cols: Col[] = [];
    let rows: Value[][] = [];
    if (stmt.reader) {
      stmt.raw(true).safeIntegers(true);
      cols = stmt.columns().map((col) => ({ name: col.name, decltype: col.type }));
      // Retrying calls the same statement again: its run resets it, which releases the failed attempt's
      // read snapshot (a fresh statement would inherit it, see SqlConnection.markStale).
      const raw = await retryWhileBusy(conn, busyTimeoutMs, () => stmt.all(values) as unknown[][]);
      if (compiled.wantRows) rows = raw.map((row) => row.map(encodeValue));
    } else {
      await retryWhileBusy(conn, busyTimeoutMs, () => stmt.run(values));
    }
    if (statement.firstKeyword === "BEGIN" && BEGIN_READONLY.test(statement.sql)) {
      conn.beginReadonlyTransaction();
    }
    const counters = conn.readCounters();
    return {
      cols,
      rows,
      affected_row_count: counters.affectedRowCount,
      last_insert_rowid: counters.lastInsertRowid.toString(),
      query_duration_ms: performance.now() - started,
    };
  } catch (err) {
    throw toStmtError(err);
  } finally {
    conn.endReadonlyTransactionIfOver();
    // Before the next statement: one that ran on a connection left stale by SQLITE_BUSY would stay
    // uncommitted (see SqlConnection.markStale).
    conn.renewIfStale();
  }
}

export async function executeStmt(stream: HranaStream, stmt: Stmt): Promise<StmtResult> {
  return runCompiled(stream, compileStmt(stream, stmt));
}
