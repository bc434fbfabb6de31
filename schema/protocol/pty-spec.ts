// The pty stream's request (client-frames.ts): the terminal to open, sent in the upgrade's `spec` query
// parameter as base64url(JSON) like an exec's (exec-spec.ts), because a browser's WebSocket cannot set a
// body or headers. The route validates the decoded JSON (worker/routes/host-streams.ts).

import { fromBase64Url, toBase64Url } from "./base64.ts";

export interface PtySpec {
  /** What to run; the host's login shell when absent. */
  argv?: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** The terminal's size at the start (resize frames change it). */
  cols: number;
  rows: number;
  /** TERM on the host; "xterm-256color" when absent. */
  term?: string;
  /** Initial output credit in bytes (default DEFAULT_STREAM_CREDIT). */
  credit?: number;
}

/** base64url(JSON) of a spec, for the `spec` query parameter. */
export function encodePtySpec(spec: PtySpec): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(spec)));
}

/** The JSON value in a `spec` parameter, unchecked; throws when it is not base64url JSON. */
export function decodePtySpec(text: string): unknown {
  return JSON.parse(new TextDecoder().decode(fromBase64Url(text)));
}
