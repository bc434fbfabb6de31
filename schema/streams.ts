// The client side of a stream: what the SDK/CLI and the HostDO say to each other over the client's
// WebSocket. The client is authenticated by its API key at the upgrade (over TLS), so these frames are
// not signed; they are CBOR maps decoded by the same strict, bounded decoder as the agent's frames.
//
//   GET /v1/hosts/:host/exec?spec=<base64url JSON ExecSpec>   (WebSocket upgrade, operator role)
//     refused before the upgrade with the API's JSON errors: 400 bad spec, 404 unknown host,
//     409 host offline
//   ◀─ started {session}                           the process is starting on the host
//   ◀─ credit {bytes}                              stdin bytes the client may send
//   ── stdin {data, eof?} · signal {name} ──▶
//   ── credit {bytes} ──▶                          stdout+stderr bytes the client can take (beyond spec.credit)
//   ◀─ stdout {data} · stderr {data}               never beyond the credit granted
//   ◀─ exit {code, signal?}                        then the server closes with 1000
//   ◀─ error {code, message}                       then the server closes (host gone, …)
//
//   GET /v1/hosts/:host/tcp?target=<service|port>   (WebSocket upgrade, operator role)
//   ◀─ started {session}                           the host is dialling the target
//   ◀─ opened {credit}                             connected; credit = bytes the client may send
//   ── data {data} · fin · credit {bytes} ──▶      fin: the client will send no more (half close)
//   ◀─ data {data} · fin · credit {bytes}          never beyond the credit granted
//   ◀─ error {code, message}                       refused by the host's policy, nobody listening, …
//   the stream ends when both sides sent fin, or at an error; the server then closes with 1000
//
//   Credit is enforced at the relay, both ways: a client that sends beyond the host's credit, or a
//   host that sends beyond the client's, ends that stream (error {code: "credit_exceeded"}, close 4413,
//   close-codes.ts); the host's other streams go on.
import type { CborMap, CborValue } from "./protocol/cbor-value.ts";
import { decodeCbor } from "./protocol/decode.ts";
import { encodeCbor } from "./protocol/encode.ts";
import { ProtocolError } from "./protocol/errors.ts";
import { MAX_CHUNK_BYTES } from "./protocol/limits.ts";

export interface ExecSpec {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Milliseconds; the host kills the process (SIGKILL) when it runs longer. */
  timeout?: number;
  /** Initial stdout+stderr credit in bytes (default DEFAULT_STREAM_CREDIT). */
  credit?: number;
}

/** A TCP target as a client names it: a service name, or a port on the host's loopback. */
export const TARGET_PATTERN = /^(?:[a-z0-9][a-z0-9._-]{0,62}|[1-9][0-9]{0,4})$/;

/** The window a client grants by default: enough to keep a fast link busy, small enough to bound memory. */
export const DEFAULT_STREAM_CREDIT = 4 * 1024 * 1024;

/**
 * The initial credit a client may ask for (spec.credit, the tcp `credit` query), and the most a
 * stream's receiver may have outstanding at the relay at once: what the relay may have to hold for a
 * reader that stops reading. The HostDO trims credit frames that would grant beyond it.
 */
export const MIN_STREAM_CREDIT = 1024;
export const MAX_STREAM_CREDIT = 64 * 1024 * 1024;

export type ClientToServer =
  | { t: "stdin"; data: Uint8Array; eof?: boolean }
  | { t: "signal"; name: string }
  | { t: "credit"; bytes: number }
  | { t: "data"; data: Uint8Array }
  | { t: "fin" };

export type ServerToClient =
  | { t: "started"; session: string }
  | { t: "stdout"; data: Uint8Array }
  | { t: "stderr"; data: Uint8Array }
  | { t: "credit"; bytes: number }
  | { t: "exit"; code: number | null; signal?: string }
  | { t: "opened"; credit: number }
  | { t: "data"; data: Uint8Array }
  | { t: "fin" }
  | { t: "error"; code: string; message: string };

export function encodeStreamFrame(frame: ClientToServer | ServerToClient): Uint8Array {
  const map = new Map<string, CborValue>();
  for (const [k, v] of Object.entries(frame)) if (v !== undefined) map.set(k, v as CborValue);
  return encodeCbor(map);
}

function _map(bytes: Uint8Array): CborMap {
  const value = decodeCbor(bytes);
  if (!(value instanceof Map)) throw new ProtocolError("malformed", "Cannot decode stream frame: not a map");
  return value;
}

function _field<T>(m: CborMap, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = m.get(key);
  if (!check(v)) throw new ProtocolError("malformed", `Cannot decode stream frame: '${key}' must be ${what}`);
  return v;
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length <= MAX_CHUNK_BYTES;
const isCount = (v: unknown): v is number =>
  Number.isSafeInteger(v) && (v as number) > 0 && (v as number) < 2 ** 32;
const isSignal = (v: unknown): v is string => typeof v === "string" && /^SIG[A-Z0-9+]{1,12}$/.test(v);
const isText = (v: unknown): v is string => typeof v === "string" && v.length <= 1024;

export function decodeClientFrame(bytes: Uint8Array): ClientToServer {
  const m = _map(bytes);
  switch (m.get("t")) {
    case "stdin": {
      const eof = m.get("eof");
      if (eof !== undefined && typeof eof !== "boolean") {
        throw new ProtocolError("malformed", "Cannot decode stream frame: 'eof' must be a boolean");
      }
      return {
        t: "stdin",
        data: _field(m, "data", isBytes, `bytes (≤ ${MAX_CHUNK_BYTES})`),
        ...(eof ? { eof } : {}),
      };
    }
    case "signal":
      return { t: "signal", name: _field(m, "name", isSignal, "a signal name like SIGINT") };
    case "credit":
      return { t: "credit", bytes: _field(m, "bytes", isCount, "a positive integer below 2^32") };
    case "data":
      return { t: "data", data: _field(m, "data", isBytes, `bytes (≤ ${MAX_CHUNK_BYTES})`) };
    case "fin":
      return { t: "fin" };
    default:
      throw new ProtocolError(
        "unknown_frame",
        `Cannot decode stream frame: unknown type ${JSON.stringify(m.get("t"))}`,
      );
  }
}

export function decodeServerFrame(bytes: Uint8Array): ServerToClient {
  const m = _map(bytes);
  switch (m.get("t")) {
    case "started":
      return { t: "started", session: _field(m, "session", isText, "text") };
    case "stdout":
    case "stderr":
    case "data":
      return { t: m.get("t") as "stdout", data: _field(m, "data", isBytes, "bytes") };
    case "opened":
      return { t: "opened", credit: _field(m, "credit", isCount, "a positive integer") };
    case "fin":
      return { t: "fin" };
    case "credit":
      return { t: "credit", bytes: _field(m, "bytes", isCount, "a positive integer") };
    case "exit": {
      const code = m.get("code");
      if (code !== null && !(Number.isInteger(code) && (code as number) >= 0 && (code as number) <= 255)) {
        throw new ProtocolError("malformed", "Cannot decode stream frame: 'code' must be 0..255 or null");
      }
      const signal = m.get("signal");
      return { t: "exit", code: code as number | null, ...(isSignal(signal) ? { signal } : {}) };
    }
    case "error":
      return {
        t: "error",
        code: _field(m, "code", isText, "text"),
        message: _field(m, "message", isText, "text"),
      };
    default:
      throw new ProtocolError(
        "unknown_frame",
        `Cannot decode stream frame: unknown type ${JSON.stringify(m.get("t"))}`,
      );
  }
}

/** base64url(JSON) of a spec, for the `spec` query parameter. */
export function encodeExecSpec(spec: ExecSpec): string {
  const bytes = new TextEncoder().encode(JSON.stringify(spec));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeExecSpec(text: string): unknown {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}
