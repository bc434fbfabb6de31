// HTTP routing for Hrana over HTTP (HRANA_3_SPEC.md §"Hrana over HTTP" › Endpoints), and the one place
// where errors become responses.
//
//   GET  /  /v2  /v3                  200, version checks; open (clients probe them without credentials)
//   POST /v2/pipeline  /v3/pipeline   JSON pipelines; need the bearer token when one is set
//   POST /v3/cursor                   a batch through a JSON cursor (cursor.ts; Hrana 3 only), the same
//                                     token
//   anything else                     404 JSON error. That includes GET /v3-protobuf: on a 404
//                                     @libsql/hrana-client falls back to JSON over v2 (http/client.js,
//                                     findEndpoint); @libsql/client 0.18 does not even probe.
//
// Error bodies are the spec's `Error` structure, `{ message, code }`, sent as exactly `application/json`:
// @libsql/hrana-client only parses error bodies whose content type is that string.
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerChecker } from "./auth.ts";
import { runCursor } from "./cursor.ts";
import { HranaHttpError, protocolError } from "./errors.ts";
import { runPipeline } from "./pipeline.ts";
import { type HranaVersion, parseCursorReqBody, parsePipelineReqBody } from "./protocol.ts";
import { readBody } from "./read-body.ts";
import type { StreamRegistry } from "./stream-registry.ts";

export interface HandlerOptions {
  registry: StreamRegistry;
  /** null: no authentication. */
  authToken: string | null;
  maxBodyBytes: number;
  /** Where unexpected errors are reported (they also go to the client as a 500). */
  log: (message: string) => void;
}

const PIPELINES: Record<string, HranaVersion> = { "/v2/pipeline": 2, "/v3/pipeline": 3 };
const CURSOR = "/v3/cursor";
const VERSION_CHECKS = new Set(["/", "/v2", "/v3"]);

function _send(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function _parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw protocolError("JSON_INVALID", `Cannot parse request body as JSON: ${(err as Error).message}`);
  }
}

function _sendError(res: ServerResponse, err: unknown, log: (message: string) => void): void {
  let error: HranaHttpError;
  if (err instanceof HranaHttpError) {
    error = err;
  } else {
    log(`libsql-server: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    error = new HranaHttpError(
      500,
      "INTERNAL_ERROR",
      `Internal server error: ${(err as Error)?.message ?? err}`,
    );
  }
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (error.status === 401) res.setHeader("www-authenticate", "Bearer");
  // The client may still be uploading an oversized body; end the connection rather than read it all.
  if (error.status === 413) res.setHeader("connection", "close");
  _send(res, error.status, "application/json", JSON.stringify(error.toBody()));
}

async function _route(
  req: IncomingMessage,
  res: ServerResponse,
  options: HandlerOptions,
  authorized: (header: string | undefined) => boolean,
): Promise<void> {
  const path = (req.url ?? "/").split("?")[0] as string;
  const version = PIPELINES[path];
  if (version !== undefined || path === CURSOR) {
    if (req.method !== "POST") {
      throw new HranaHttpError(405, "METHOD_NOT_ALLOWED", `${path} only accepts POST`);
    }
    if (!authorized(req.headers.authorization)) {
      throw new HranaHttpError(
        401,
        "UNAUTHORIZED",
        "Missing or wrong `Authorization: Bearer <token>` header",
      );
    }
    const json = _parseJson(await readBody(req, options.maxBodyBytes));
    if (version === undefined) {
      const lines = await runCursor(options.registry, parseCursorReqBody(json));
      _send(res, 200, "text/plain; charset=utf-8", lines);
      return;
    }
    const response = await runPipeline(options.registry, parsePipelineReqBody(json), version);
    _send(res, 200, "application/json", JSON.stringify(response));
    return;
  }
  if (VERSION_CHECKS.has(path)) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      throw new HranaHttpError(405, "METHOD_NOT_ALLOWED", `${path} only accepts GET`);
    }
    _send(
      res,
      200,
      "text/plain",
      "Hello, this is a local libSQL server: Hrana over HTTP v2 and v3, JSON only\n",
    );
    return;
  }
  throw new HranaHttpError(404, "NOT_FOUND", `No such endpoint: ${req.method} ${path}`);
}

export function createRequestHandler(
  options: HandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const token = options.authToken;
  const authorized = token === null ? () => true : bearerChecker(token);
  return (req, res) => {
    res.on("error", () => {}); // a client that hung up is not the server's problem
    _route(req, res, options, authorized).catch((err: unknown) => _sendError(res, err, options.log));
  };
}
