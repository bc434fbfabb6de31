// The cursor endpoint (HRANA_3_SPEC.md §"Hrana over HTTP" › "Execute a batch using a cursor", and
// §"Cursors" › "Cursor entries"): `POST v3/cursor` with `{ baton, batch }` runs one batch on the
// baton's stream and answers newline-separated JSON: first `{ baton, base_url }`, then for each step
// that ran `step_begin`, its `row`s and `step_end`, or `step_error` for a step that failed. A skipped
// step writes nothing. Cursors exist only in Hrana 3.
//
// The batch runs to the end before the answer is written, as the pipeline's do: the stream is one
// SQLite connection in this process, so nothing is gained by interleaving, and a protocol error found
// midway can still be an HTTP error rather than a broken body. @libsql/hrana-client sends nothing
// else on the stream until it has read the whole cursor, so the baton given first is used only after.
import { executeBatch } from "./batch.ts";
import type { HranaErrorBody } from "./errors.ts";
import type { Col, CursorReqBody, StmtResult, Value } from "./protocol.ts";
import type { StreamRegistry } from "./stream-registry.ts";

type CursorEntry =
  | { type: "step_begin"; step: number; cols: Col[] }
  | { type: "step_end"; affected_row_count: number; last_insert_rowid: string | null }
  | { type: "step_error"; step: number; error: HranaErrorBody }
  | { type: "row"; row: Value[] }
  | { type: "error"; error: HranaErrorBody };

function _stepEntries(step: number, result: StmtResult): CursorEntry[] {
  return [
    { type: "step_begin", step, cols: result.cols },
    ...result.rows.map((row): CursorEntry => ({ type: "row", row })),
    {
      type: "step_end",
      affected_row_count: result.affected_row_count,
      last_insert_rowid: result.last_insert_rowid,
    },
  ];
}

/** The cursor's body, one JSON document per line (each ends with `\n`). */
export async function runCursor(registry: StreamRegistry, body: CursorReqBody): Promise<string> {
  const lease = body.baton == null ? registry.open() : registry.acquire(body.baton);
  let entries: CursorEntry[];
  try {
    const result = await executeBatch(lease.stream, body.batch, 3);
    entries = result.step_results.flatMap((stepResult, step): CursorEntry[] => {
      if (stepResult) return _stepEntries(step, stepResult);
      const error = result.step_errors[step];
      return error ? [{ type: "step_error", step, error }] : [];
    });
    if (!lease.stream.closed) lease.stream.conn.renewIfStale();
  } catch (err) {
    lease.discard();
    throw err;
  }
  const head = { baton: lease.release(), base_url: null };
  return [head, ...entries].map((line) => `${JSON.stringify(line)}\n`).join("");
}
