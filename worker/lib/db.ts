// The Worker reaches libSQL only over HTTP (`@libsql/client/web`): the same code path against Turso in
// production and against scripts/libsql-server locally. A client is a fetch wrapper, cheap to make per
// request, and nothing is shared between requests (DESIGN.md: no module-level state).
import { type Client, createClient } from "@libsql/client/web";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import type { Bindings } from "../env.ts";

export type Database = LibSQLDatabase & { $client: Client };

export function openDatabase(env: Bindings): Database {
  if (!env.DATABASE_URL) throw new Error("DATABASE_URL is not set: point it at a libSQL server");
  return drizzle(createClient({ url: env.DATABASE_URL, authToken: env.DATABASE_AUTH_TOKEN }));
}

/** True when a libSQL error is a UNIQUE constraint violation (→ 409). */
export function isUniqueViolation(err: unknown): boolean {
  const text = String((err as { cause?: unknown })?.cause ?? "") + String(err);
  return /UNIQUE constraint failed|SQLITE_CONSTRAINT_UNIQUE|SQLITE_CONSTRAINT_PRIMARYKEY/.test(text);
}
