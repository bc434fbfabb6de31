// # The client stream protocol
//
// What the SDK/CLI (and the Worker's own exposure and mesh streams) and the HostDO say to each other over
// a client's stream WebSocket. The client is authenticated by its API key at the upgrade (over TLS), so
// these frames are not signed; each message is one CBOR map with a text `t`, read through the same
// table-driven, strict decoder as the agent's frames (_fields.ts): unknown types and unknown fields are
// refused, every field is checked for type, length and range (ProtocolError, close 4400).
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
//   GET /v1/hosts/:host/pty?spec=<base64url JSON PtySpec>   (WebSocket upgrade, operator role; pty-spec.ts)
//     the exec stream's frames, on a pseudo-terminal: stdout is the terminal's output (no stderr),
//     stdin its input (Ctrl-C is the byte 0x03, which the remote terminal turns into SIGINT), and
//   ── resize {cols, rows} ──▶                      the client's terminal changed size
//   ◀─ exit {code, signal?}                        then the server closes with 1000
//
//   GET /v1/hosts/:host/vms/:vm/console?mode=write|read   (WebSocket upgrade, operator role)
//   ◀─ started {session}                           the host is attaching to the VM's serial console
//   ◀─ attached {mode, reason?}                    write, or read (asked, or another session writes)
//   ◀─ credit {bytes}                              stdin bytes a writer may send (never to a reader)
//   ── stdin {data} · credit {bytes} ──▶           keys (a writer only) · output bytes it can take
//   ◀─ stdout {data}                               the console's output
//   ◀─ error {code, message}                       vm_unknown / vm_not_running / vm_stopped, then the
//                                                  server closes with 4404
//   GET /v1/hosts/:host/vms/:vm/logs?lines=N&follow=true   (viewer role): the console's history
//   ◀─ started · stdout {data} · exit {code: 0}    (no exit while following)
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
import {
  _bool,
  type _Field,
  _FieldError,
  type _Fields,
  _nullable,
  _oneOf,
  _optional,
  _readFields,
  _text,
  _uint,
} from "./_fields.ts";
import { _CHUNK, _COLS, _ROWS, _SIGNAL } from "./_frame-specs.ts";
import type { CborKey, CborValue } from "./cbor-value.ts";
import { decodeCbor } from "./decode.ts";
import { encodeCbor } from "./encode.ts";
import { ProtocolError } from "./errors.ts";
import { MAX_CREDIT } from "./limits.ts";

// ## Version

/** Capability of the client stream protocol, apart from the agent's (frames.ts). History, newest last:
 *
 *   1 (2026-11-21): exec and tcp streams, hand-written decoders in schema/streams.ts
 *   2 (2026-12-01): decoded through the frames' table-driven decoder: unknown fields are refused, not
 *                   ignored; exit's `signal` and the client's `signal` follow the agent frames' rule
 *                   (SIG + 2..16 of A-Z 0-9 + -) instead of being dropped or refused when they differ;
 *                   an error's message is cut to 1024 characters by the sender, never refused.
 *   3 (2026-12-02): pty streams (GET /v1/hosts/:host/pty) and the client's `resize {cols, rows}`.
 *   4 (2026-12-02): VM console streams (GET /v1/hosts/:host/vms/:vm/console and …/logs) and the
 *                   server's `attached {mode, reason?}`: the mode the console was attached in.
 */
export const CLIENT_STREAM_CAPABILITY = 4;

// ## Frames

export type ClientToServer =
  | { t: "stdin"; data: Uint8Array; eof?: boolean }
  | { t: "signal"; name: string }
  | { t: "resize"; cols: number; rows: number }
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
  | { t: "attached"; mode: "write" | "read"; reason?: string }
  | { t: "data"; data: Uint8Array }
  | { t: "fin" }
  | { t: "error"; code: string; message: string };

export type StreamFrame = ClientToServer | ServerToClient;
export type StreamFrameType = StreamFrame["t"];

type _Sender = "client" | "server" | "either";
type _SentBy<F> = F extends ClientToServer ? (F extends ServerToClient ? "either" : "client") : "server";
type _Spec<F> = { from: _SentBy<F>; fields: _Fields<Omit<F, "t">> };

/** Each frame type: who may send it, and a codec per field. A field added to a type and not here does not compile. */
const _SPECS: { [T in StreamFrameType]: _Spec<Extract<StreamFrame, { t: T }>> } = {
  started: { from: "server", fields: { session: _text({ min: 1, max: 1024 }) } },
  stdin: { from: "client", fields: { data: _CHUNK, eof: _optional(_bool) } },
  signal: { from: "client", fields: { name: _SIGNAL } },
  resize: { from: "client", fields: { cols: _COLS, rows: _ROWS } },
  stdout: { from: "server", fields: { data: _CHUNK } },
  stderr: { from: "server", fields: { data: _CHUNK } },
  exit: { from: "server", fields: { code: _nullable(_uint(0, 255)), signal: _optional(_SIGNAL) } },
  opened: { from: "server", fields: { credit: _uint(1, MAX_CREDIT) } },
  attached: {
    from: "server",
    fields: { mode: _oneOf(["write", "read"] as const), reason: _optional(_text({ max: 1024, cut: true })) },
  },
  credit: { from: "either", fields: { bytes: _uint(1, MAX_CREDIT) } },
  data: { from: "either", fields: { data: _CHUNK } },
  fin: { from: "either", fields: {} },
  error: {
    from: "server",
    fields: { code: _text({ min: 1, max: 1024 }), message: _text({ max: 1024, cut: true }) },
  },
};

/** Every client stream frame type. */
export const STREAM_FRAME_TYPES = Object.keys(_SPECS) as StreamFrameType[];

// ## Encoding and decoding

/**
 * The CBOR bytes of `frame`, checked with the rules its receiver applies, so nothing is sent that the
 * peer must refuse. Throws TypeError for a frame that breaks them.
 */
export function encodeStreamFrame(frame: StreamFrame): Uint8Array {
  const t: unknown = frame?.t;
  if (typeof t !== "string" || !Object.hasOwn(_SPECS, t)) {
    throw new TypeError(`Cannot encode stream frame: unknown type ${JSON.stringify(t)}`);
  }
  const fields = _SPECS[frame.t].fields as Record<string, _Field<unknown>>;
  const map = new Map<CborKey, CborValue>([["t", frame.t]]);
  for (const name in fields) {
    const value = (frame as unknown as Record<string, unknown>)[name];
    if (value !== undefined) map.set(name, fields[name]!.write(value));
  }
  try {
    _check(map, fields, frame.t, "encode");
  } catch (error) {
    if (error instanceof ProtocolError) throw new TypeError(error.message);
    throw error;
  }
  return encodeCbor(map);
}

/** A frame the client sent (read by the HostDO). Throws ProtocolError "malformed" / "unknown_frame". */
export function decodeClientFrame(bytes: Uint8Array): ClientToServer {
  return _decode(bytes, "client") as ClientToServer;
}

/** A frame the HostDO sent (read by the SDK and the Worker's streams). Throws ProtocolError. */
export function decodeServerFrame(bytes: Uint8Array): ServerToClient {
  return _decode(bytes, "server") as ServerToClient;
}

function _decode(bytes: Uint8Array, sender: Exclude<_Sender, "either">): StreamFrame {
  const value = decodeCbor(bytes);
  if (!(value instanceof Map)) throw _error("malformed", "decode", "a frame must be a map");
  const t = value.get("t");
  if (typeof t !== "string") throw _error("malformed", "decode", 'a frame must have a text field "t"');
  if (!Object.hasOwn(_SPECS, t)) {
    throw _error("unknown_frame", "decode", `unknown type ${JSON.stringify(t.slice(0, 40))}`);
  }
  const spec = _SPECS[t as StreamFrameType];
  if (spec.from !== "either" && spec.from !== sender) {
    throw _error("unknown_frame", "decode", `${t} may not be sent by the ${sender}`);
  }
  return _check(value, spec.fields as Record<string, _Field<unknown>>, t, "decode");
}

function _check(
  map: Map<CborKey, CborValue>,
  fields: Record<string, _Field<unknown>>,
  t: string,
  verb: "decode" | "encode",
): StreamFrame {
  try {
    const frame = { t, ..._readFields(map, fields, "", ["t"]) } as StreamFrame;
    // A false eof says nothing; dropping it keeps one form per frame.
    if (frame.t === "stdin" && frame.eof === false) delete frame.eof;
    return frame;
  } catch (error) {
    if (error instanceof _FieldError) throw _error("malformed", verb, `${t} ${error.message}`);
    throw error;
  }
}

function _error(code: "malformed" | "unknown_frame", verb: "decode" | "encode", why: string): ProtocolError {
  return new ProtocolError(code, `Cannot ${verb} stream frame: ${why}`);
}
