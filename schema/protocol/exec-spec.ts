// The exec stream's request (client-frames.ts): what to run, sent in the upgrade's `spec` query
// parameter as base64url(JSON), because a browser's WebSocket cannot set a body or headers. The route
// validates the decoded JSON (worker/routes/host-streams.ts); this file only carries it.

import { fromBase64Url, toBase64Url } from "./base64.ts";

export interface ExecSpec {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Milliseconds; the host kills the process (SIGKILL) when it runs longer. */
  timeout?: number;
  /** Initial stdout+stderr credit in bytes (default DEFAULT_STREAM_CREDIT). */
  credit?: number;
  /**
   * Record its output (stdout and stderr, never stdin) as an asciicast v2 file, as a terminal session
   * is (`outpost sessions play`). One host's exec only; refused (409) when the tenant turned recording off.
   */
  record?: boolean;
}

/** base64url(JSON) of a spec, for the `spec` query parameter. */
export function encodeExecSpec(spec: ExecSpec): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(spec)));
}

/** The JSON value in a `spec` parameter, unchecked; throws (TypeError, SyntaxError) when it is not base64url JSON. */
export function decodeExecSpec(text: string): unknown {
  return JSON.parse(new TextDecoder().decode(fromBase64Url(text)));
}
