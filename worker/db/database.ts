// The Worker reaches libSQL only over HTTP (`@libsql/client/web`): the same code path against Turso in
// production and against scripts/libsql-server locally. A client is a fetch wrapper, cheap to make per
// request, and nothing is shared between requests (DESIGN.md: no module-level state).
import { type Client, createClient } from "@libsql/client/web";
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

export type Database = LibSQLDatabase & { $client: Client };

/** The bindings a database is opened from (worker/env.ts Bindings has them): no import of env.ts here. */
export interface DatabaseConfig {
  DATABASE_URL: string;
  DATABASE_AUTH_TOKEN?: string;
}

export function openDatabase(env: DatabaseConfig): Database {
  if (!env.DATABASE_URL) throw new Error("DATABASE_URL is not set: point it at a libSQL server");
  return drizzle(createClient({ url: env.DATABASE_URL, authToken: env.DATABASE_AUTH_TOKEN }));
}

/** True when a libSQL error is a UNIQUE constraint violation (→ 409). */
export function isUniqueViolation(err: unknown): boolean {
  const text = String((err as { cause?: unknown })?.cause ?? "") + String(err);
  return /UNIQUE constraint failed|SQLITE_CONSTRAINT_UNIQUE|SQLITE_CONSTRAINT_PRIMARYKEY/.test(text);
}

/**
 * Inserts `row` unless the rows of `table` matching `scope` number `max` already, in one statement, so
 * that two inserts racing for the last place cannot both take it (a count, then an insert, could).
 * True when the row went in; a unique violation still throws, as from an insert.
 */
export async function insertCapped<T extends SQLiteTable>(
  db: Database,
  table: T,
  row: T["$inferInsert"],
  scope: SQL,
  max: number,
): Promise<boolean> {
  const columns = getTableColumns(table);
  const fields = Object.entries(row as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const names = sql.join(
    fields.map(([k]) => sql.identifier(columns[k]!.name)),
    sql`, `,
  );
  const values = sql.join(
    fields.map(([k, v]) => sql.param(v, columns[k])),
    sql`, `,
  );
  const result = await db.run(
    sql`insert into ${table} (${names}) select ${values} where (select count(*) from ${table} where ${scope}) < ${max}`,
  );
  return result.rowsAffected === 1;
}
