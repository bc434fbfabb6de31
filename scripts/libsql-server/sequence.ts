// The `sequence` request (HRANA_3_SPEC.md §"Execute a sequence of SQL statements"): statements separated
// by semicolons, run in order without arguments, rows ignored; the first failure stops the rest and is
// the request's error. `@libsql/client`'s executeMultiple() sends this.
import { runCompiled } from "./execute.ts";
import { splitStatements } from "./sql-statements.ts";
import type { HranaStream } from "./stream.ts";

export async function executeSequence(stream: HranaStream, sql: string): Promise<void> {
  for (const statement of splitStatements(sql)) {
    await runCompiled(stream, { statement, args: [], namedArgs: [], wantRows: false });
  }
}
