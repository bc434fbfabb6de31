// The pipeline endpoint's work (HRANA_3_SPEC.md §"Execute a pipeline of requests (JSON)", §"Hrana over
// HTTP" › Requests): lease the baton's stream, run every request in order (a failed request does not stop
// the others), and answer one result per request with the next baton.
//
// A StmtError becomes that request's `{ type: "error" }` result. Anything else (a protocol violation, a
// bug) fails the whole HTTP request and closes the stream, as in sqld.
import { executeBatch } from "./batch.ts";
import { describeSql } from "./describe.ts";
import { protocolError, StmtError } from "./errors.ts";
import { executeStmt } from "./execute.ts";
import {
  type HranaVersion,
  type PipelineReqBody,
  type PipelineRespBody,
  requireVersion,
  type StreamRequest,
  type StreamResponse,
  type StreamResult,
} from "./protocol.ts";
import { executeSequence } from "./sequence.ts";
import type { HranaStream } from "./stream.ts";
import type { StreamRegistry } from "./stream-registry.ts";

async function _respond(
  stream: HranaStream,
  request: StreamRequest,
  version: HranaVersion,
): Promise<StreamResponse> {
  switch (request.type) {
    case "close":
      stream.close();
      return { type: "close" };
    case "execute":
      return { type: "execute", result: await executeStmt(stream, request.stmt) };
    case "batch":
      return { type: "batch", result: await executeBatch(stream, request.batch, version) };
    case "sequence":
      await executeSequence(stream, stream.resolveSql(request.sql, request.sql_id));
      return { type: "sequence" };
    case "describe":
      return {
        type: "describe",
        result: await describeSql(stream, stream.resolveSql(request.sql, request.sql_id)),
      };
    case "store_sql":
      stream.storeSql(request.sql_id, request.sql);
      return { type: "store_sql" };
    case "close_sql":
      stream.closeSql(request.sql_id);
      return { type: "close_sql" };
    case "get_autocommit":
      requireVersion(version, 3, "The `get_autocommit` request");
      return { type: "get_autocommit", is_autocommit: stream.conn.isAutocommit };
  }
}

async function _handle(
  stream: HranaStream,
  request: StreamRequest,
  version: HranaVersion,
): Promise<StreamResult> {
  if (stream.closed) throw protocolError("STREAM_CLOSED", "Stream for this baton was closed");
  try {
    return { type: "ok", response: await _respond(stream, request, version) };
  } catch (err) {
    if (err instanceof StmtError) return { type: "error", error: err.toBody() };
    throw err;
  } finally {
    if (!stream.closed) stream.conn.renewIfStale();
  }
}

export async function runPipeline(
  registry: StreamRegistry,
  body: PipelineReqBody,
  version: HranaVersion,
): Promise<PipelineRespBody> {
  const lease = body.baton == null ? registry.open() : registry.acquire(body.baton);
  try {
    const results: StreamResult[] = [];
    for (const request of body.requests) results.push(await _handle(lease.stream, request, version));
    return { baton: lease.release(), base_url: null, results };
  } catch (err) {
    lease.discard();
    throw err;
  }
}
