// The `describe` request (HRANA_3_SPEC.md §"Describe a statement", §"Result of describing a statement"):
// parameters, result columns, and whether the statement is an EXPLAIN and whether it is read-only, all
// without running it.
import { retryWhileBusy } from "./busy-retry.ts";
import type { SqlConnection } from "./connection.ts";
import { toStmtError } from "./errors.ts";
import { parseSingleStatement } from "./execute.ts";
import type { DescribeResult } from "./protocol.ts";
import type { HranaStream } from "./stream.ts";

/**
 * sqlite3_stmt_readonly() is not exposed by the `libsql` package, so this asks the compiled program: it
 * is read-only unless it opens a write transaction (OP_Transaction with P2 ≠ 0) or has OP_Vacuum or
 * OP_JournalMode, which is exactly how SQLite decides (src/vdbeaux.c, resolveP2Values).
 */
function _isReadonly(conn: SqlConnection, sql: string): boolean {
  const program = conn.prepare(`EXPLAIN ${sql}`).raw(true).all() as unknown[][];
  return !program.some(([, opcode, , p2]) => {
    return (opcode === "Transaction" && Number(p2) !== 0) || opcode === "Vacuum" || opcode === "JournalMode";
  });
}

export async function describeSql(stream: HranaStream, sql: string): Promise<DescribeResult> {
  const statement = parseSingleStatement(sql);
  const { conn } = stream;
  try {
    const stmt = await retryWhileBusy(conn, stream.busyTimeoutMs, () => conn.prepare(statement.sql));
    const isExplain = statement.firstKeyword === "EXPLAIN";
    return {
      params: statement.params.names.map((name) => ({ name })),
      cols: stmt.columns().map((col) => ({ name: col.name, decltype: col.type })),
      is_explain: isExplain,
      // EXPLAIN only lists a program; it never changes the database.
      is_readonly: isExplain || _isReadonly(conn, statement.sql),
    };
  } catch (err) {
    throw toStmtError(err);
  }
}
