// # The fan-out stream
//
// One WebSocket between a client and its cluster's ClusterDO runs one command on many hosts: the
// ClusterDO opens an exec stream (client-frames.ts) on each selected host's HostDO, at most
// `maxParallel` at a time, and relays what each says as events tagged with the host's name. So a
// fan-out to 1,000 hosts is one client connection, not 1,000.
//
//   GET /v1/clusters/:cluster/exec?spec=<base64url JSON ExecSpec>&selector=…&site=…&maxParallel=N
//     (WebSocket upgrade, operator role); refused before the upgrade with the API's JSON errors:
//     400 bad spec or selector, 404 unknown cluster or site, or no host matching
//   ◀─ plan {hosts, offline}          the hosts selected (`web01.prod`), and those of them not connected
//   ◀─ started {host, session}        the host has the command; session is its session id
//   ◀─ stdout {host, data} · stderr {host, data}       data: base64url of the bytes
//   ◀─ exit {host, code, signal?, durationMs, bytes}   the process ended (bytes: stdout + stderr)
//   ◀─ failed {host, code, message, durationMs}        it never ran or its stream broke (offline, …)
//   ◀─ done {}                        every host has exited or failed; then the server closes with 1000
//   ── ack {bytes} ──▶                the client has written out `bytes` of data: the ClusterDO keeps at
//                                     most FANOUT_WINDOW unacknowledged, granting hosts credit only
//                                     within it, so a slow client slows the hosts, not memory
//   closing the socket stops the fan-out everywhere: each running exec is dropped (the agents kill
//   the processes) and hosts not yet started never are.
//
// Messages are JSON text: a fan-out is read by scripts as events (`outpost exec --json` prints them),
// and its bulk is one host's output at a time. Decoding is strict on both ends: unknown types and
// fields are refused; the client's side checks every field, since hosts' names and messages are text
// an agent or a compromised control plane may shape.

import { fromBase64Url } from "./base64.ts";
import { ProtocolError } from "./errors.ts";

// ## Events

export type FanoutEvent =
  | { t: "plan"; hosts: string[]; offline: string[] }
  | { t: "started"; host: string; session: string }
  | { t: "stdout" | "stderr"; host: string; data: string }
  | { t: "exit"; host: string; code: number | null; signal?: string; durationMs: number; bytes: number }
  | { t: "failed"; host: string; code: string; message: string; durationMs: number }
  | { t: "done" };

export type FanoutClientMessage = { t: "ack"; bytes: number };

/** Data bytes the ClusterDO may have sent the client beyond what the client acknowledged. */
export const FANOUT_WINDOW = 4 * 1024 * 1024;
/** At most this many hosts run at once, whatever the client asks. */
export const MAX_FANOUT_PARALLEL = 256;
export const DEFAULT_FANOUT_PARALLEL = 32;

// ## Decoding

type _Check = (v: unknown) => boolean;
const _str =
  (max: number): _Check =>
  (v) =>
    typeof v === "string" && v.length <= max;
const _uint: _Check = (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const _opt =
  (c: _Check): _Check =>
  (v) =>
    v === undefined || c(v);
const _list: _Check = (v) => Array.isArray(v) && v.length <= 100_000 && v.every(_str(300));
const _HOST = _str(300);

const _EVENTS: Record<FanoutEvent["t"], Record<string, _Check>> = {
  plan: { hosts: _list, offline: _list },
  started: { host: _HOST, session: _str(1024) },
  stdout: { host: _HOST, data: _str(2 * 1024 * 1024) },
  stderr: { host: _HOST, data: _str(2 * 1024 * 1024) },
  exit: {
    host: _HOST,
    code: (v) => v === null || (_uint(v) && (v as number) <= 255),
    signal: _opt(_str(20)),
    durationMs: _uint,
    bytes: _uint,
  },
  failed: { host: _HOST, code: _str(100), message: _str(1024), durationMs: _uint },
  done: {},
};

function _decode(text: string, table: Record<string, Record<string, _Check>>, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError("malformed", `Cannot decode ${what}: not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("malformed", `Cannot decode ${what}: not an object`);
  }
  const t = (value as { t?: unknown }).t;
  if (typeof t !== "string" || !Object.hasOwn(table, t)) {
    throw new ProtocolError("unknown_frame", `Cannot decode ${what}: unknown type ${JSON.stringify(t)}`);
  }
  const fields = table[t]!;
  for (const [k, v] of Object.entries(value)) {
    if (k === "t") continue;
    if (!Object.hasOwn(fields, k))
      throw new ProtocolError("malformed", `Cannot decode ${what}: ${t} has no field ${k}`);
    if (!fields[k]!(v))
      throw new ProtocolError("malformed", `Cannot decode ${what}: ${t}.${k} is out of range`);
  }
  for (const [k, check] of Object.entries(fields)) {
    if (!(k in value) && !check(undefined)) {
      throw new ProtocolError("malformed", `Cannot decode ${what}: ${t} needs ${k}`);
    }
  }
  return value;
}

/** An event the ClusterDO sent (read by the SDK). Throws ProtocolError. */
export function decodeFanoutEvent(text: string): FanoutEvent {
  const event = _decode(text, _EVENTS, "fan-out event") as FanoutEvent;
  if (event.t === "stdout" || event.t === "stderr") {
    try {
      fromBase64Url(event.data);
    } catch {
      throw new ProtocolError("malformed", `Cannot decode fan-out event: ${event.t}.data is not base64url`);
    }
  }
  return event;
}

/** A message the client sent (read by the ClusterDO). Throws ProtocolError. */
export function decodeFanoutClientMessage(text: string): FanoutClientMessage {
  return _decode(
    text,
    { ack: { bytes: (v) => _uint(v) && (v as number) <= FANOUT_WINDOW } },
    "fan-out message",
  ) as FanoutClientMessage;
}
