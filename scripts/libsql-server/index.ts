// A local libSQL server: one database file served over Hrana over HTTP, JSON encoding, versions 2 and 3
// (libSQL docs/HRANA_3_SPEC.md), for @libsql/client and @libsql/client/web. CLI: main.ts.
//
// Known differences from sqld/Turso:
// - No Protobuf (`v3-protobuf`, answered 404 so clients fall back to JSON) and no cursors (`v3/cursor`).
// - Statement results carry `query_duration_ms` but not `rows_read` / `rows_written`.
// - Text containing U+0000 is cut at the NUL by the `libsql` package, both ways.
// - SQL syntax errors come back as SQLITE_ERROR results per statement; sqld parses SQL itself first and
//   answers SQL_PARSE_ERROR for the whole request.
export type { LibsqlServer } from "./server.ts";
export { startLibsqlServer } from "./server.ts";
