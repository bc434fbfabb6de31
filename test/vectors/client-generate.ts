// Builds the known-answer vectors in client-frames.json: the client ↔ control plane stream frames
// (schema/protocol/client-frames.ts), which travel unsigned over the client's own WebSocket, so each
// vector is just CBOR bytes. scripts/gen-vectors.ts writes the file; vectors.test.ts checks it is current.

import { _toHex } from "../../schema/protocol/_bytes.ts";
import {
  type CborKey,
  type CborValue,
  CLIENT_STREAM_CAPABILITY,
  closeCodeFor,
  decodeClientFrame,
  decodeServerFrame,
  encodeCbor,
  encodeStreamFrame,
  MAX_CREDIT,
  ProtocolError,
  type ProtocolErrorCode,
  type StreamFrame,
} from "../../schema/protocol/index.ts";
import { type Json, stableStringify, toJson } from "./json.ts";

/** Who sent a frame, which says which decoder reads it (the HostDO reads the client's, the SDK the server's). */
export type ClientSender = "client" | "server";

interface ClientValidVector {
  name: string;
  sender: ClientSender;
  frame: Json;
  /** encodeStreamFrame(frame); the sender's decoder gives `frame` back. */
  hex: string;
}

/** Bytes a decoder takes but reads as a frame whose encoding differs (one form per frame). */
interface ClientNormalizedVector {
  name: string;
  sender: ClientSender;
  hex: string;
  /** What the sender's decoder gives. */
  frame: Json;
}

interface ClientInvalidVector {
  name: string;
  sender: ClientSender;
  hex: string;
  error: ProtocolErrorCode;
  /** This implementation's wording: it pins the reason a vector is refused (most are "malformed"). */
  message: string;
  closeCode: number;
}

export interface ClientVectorFile {
  description: string;
  capability: number;
  valid: ClientValidVector[];
  normalized: ClientNormalizedVector[];
  invalid: ClientInvalidVector[];
}

export function decodeStreamFrame(sender: ClientSender, bytes: Uint8Array): StreamFrame {
  return sender === "client" ? decodeClientFrame(bytes) : decodeServerFrame(bytes);
}

export function generateClientVectors(): ClientVectorFile {
  const text = new TextEncoder();
  const valid: ClientValidVector[] = [];
  const add = (name: string, sender: ClientSender, frame: StreamFrame) => {
    const bytes = encodeStreamFrame(frame);
    // A vector must be what the receiver reads back: check before writing it down.
    const back = stableStringify(toJson(decodeStreamFrame(sender, bytes)));
    if (back !== stableStringify(toJson(frame))) throw new Error(`valid client vector "${name}": reads back as ${back}`);
    valid.push({ name, sender, frame: toJson(frame), hex: _toHex(bytes) });
  };

  // ## Valid: every frame type, from each side that may send it.
  add("started (exec)", "server", { t: "started", session: "ses_AAECAwQFBgcICQoLDA0ODw" });
  add("credit server>client", "server", { t: "credit", bytes: 65_536 });
  add("stdin", "client", { t: "stdin", data: text.encode("hello\n") });
  add("stdin eof", "client", { t: "stdin", data: new Uint8Array(0), eof: true });
  add("signal", "client", { t: "signal", name: "SIGTERM" });
  add("signal real-time", "client", { t: "signal", name: "SIGRTMIN+3" });
  add("resize", "client", { t: "resize", cols: 132, rows: 43 });
  add("credit client>server, the most", "client", { t: "credit", bytes: MAX_CREDIT });
  add("stdout", "server", { t: "stdout", data: text.encode("Linux web01 6.8.0\n") });
  add("stderr", "server", { t: "stderr", data: Uint8Array.of(0, 1, 2, 0xfe, 0xff) });
  add("exit", "server", { t: "exit", code: 0 });
  add("exit by signal", "server", { t: "exit", code: null, signal: "SIGKILL" });
  add("opened", "server", { t: "opened", credit: 262_144 });
  add("attached", "server", { t: "attached", mode: "write" });
  add("attached read-only", "server", { t: "attached", mode: "read", reason: "another session writes to this console" });
  add("data client>server", "client", { t: "data", data: Uint8Array.of(0x53, 0x53, 0x48) });
  add("data server>client", "server", { t: "data", data: Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff) });
  add("fin client>server", "client", { t: "fin" });
  add("fin server>client", "server", { t: "fin" });
  add("error", "server", { t: "error", code: "host_offline", message: "host_AAAAAAAAAAAAAAAAAAAAAA is offline" });
  add("error with an empty message", "server", { t: "error", code: "credit_exceeded", message: "" });

  // ## Normalized: taken, but read as another frame's form.
  const normalized: ClientNormalizedVector[] = [];
  const normal = (name: string, sender: ClientSender, map: Map<string, CborValue>) => {
    const bytes = encodeCbor(map);
    const frame = decodeStreamFrame(sender, bytes);
    if (_toHex(encodeStreamFrame(frame)) === _toHex(bytes)) throw new Error(`normalized client vector "${name}": not normalized`);
    normalized.push({ name, sender, hex: _toHex(bytes), frame: toJson(frame) });
  };
  normal("stdin with eof false (read as no eof)", "client", new Map<string, CborValue>([["t", "stdin"], ["data", text.encode("x")], ["eof", false]]));

  // ## Invalid: each refused with a ProtocolError, for the reason its message names.
  const invalid: ClientInvalidVector[] = [];
  const refuse = (name: string, sender: ClientSender, bytes: Uint8Array, error: ProtocolErrorCode) => {
    let outcome: unknown;
    try {
      outcome = decodeStreamFrame(sender, bytes);
    } catch (e) {
      outcome = e;
    }
    if (!(outcome instanceof ProtocolError) || outcome.code !== error) {
      throw new Error(`invalid client vector "${name}": expected ${error}, got ${String(outcome)}`);
    }
    invalid.push({ name, sender, hex: _toHex(bytes), error, message: outcome.message, closeCode: closeCodeFor(outcome) });
  };
  const map = (...entries: [string, CborValue][]) => encodeCbor(new Map<string, CborValue>(entries));
  refuse("not a map", "client", encodeCbor([1, 2]), "malformed");
  refuse("no t", "client", map(["bytes", 1]), "malformed");
  refuse("t not text", "client", encodeCbor(new Map<CborKey, CborValue>([["t", 1]])), "malformed");
  refuse("unknown frame type", "client", map(["t", "exec.open"]), "unknown_frame");
  refuse("server frame sent by the client", "client", map(["t", "stdout"], ["data", Uint8Array.of(1)]), "unknown_frame");
  refuse("client frame sent by the server", "server", map(["t", "signal"], ["name", "SIGINT"]), "unknown_frame");
  refuse("unknown field", "client", map(["t", "fin"], ["extra", 1]), "malformed");
  refuse("missing field", "client", map(["t", "credit"]), "malformed");
  refuse("credit 0", "client", map(["t", "credit"], ["bytes", 0]), "malformed");
  refuse("credit over MAX_CREDIT (2^32 - 1)", "server", map(["t", "opened"], ["credit", MAX_CREDIT + 1]), "malformed");
  refuse("data as text", "client", map(["t", "data"], ["data", "text"]), "malformed");
  refuse("signal that is not a signal name", "client", map(["t", "signal"], ["name", "rm -rf"]), "malformed");
  refuse("exit code over 255", "server", map(["t", "exit"], ["code", 256]), "malformed");
  refuse("exit signal in lower case", "server", map(["t", "exit"], ["code", 3], ["signal", "kill"]), "malformed");
  // The sender cuts a long message (encodeStreamFrame); a receiver refuses one that was not cut.
  refuse("error message over 1024 characters", "server", map(["t", "error"], ["code", "x"], ["message", "x".repeat(1025)]), "malformed");
  refuse("started with an empty session", "server", map(["t", "started"], ["session", ""]), "malformed");
  refuse("eof not a boolean", "client", map(["t", "stdin"], ["data", Uint8Array.of(1)], ["eof", 1]), "malformed");
  refuse("map keys out of order", "client", Uint8Array.of(0xa2, 0x64, ...text.encode("data"), 0x41, 0x01, 0x61, 0x74, 0x64, ...text.encode("data")), "malformed");
  refuse("trailing byte", "client", Uint8Array.of(...map(["t", "fin"]), 0x00), "malformed");

  return {
    description:
      "Known-answer vectors for the client stream frames (schema/protocol/client-frames.ts), unsigned CBOR " +
      "between a client and the control plane. Each valid vector's frame encodes to hex, and hex decodes, by " +
      "the reader of frames from `sender`, to the frame. Each normalized vector's hex decodes to its frame " +
      "(whose own encoding differs). Each invalid vector's hex is refused with `error` (close code " +
      "`closeCode`); `message` is this implementation's wording of why. Frames are JSON with bytes as {$hex}. " +
      "Generated by scripts/gen-vectors.ts.",
    capability: CLIENT_STREAM_CAPABILITY,
    valid,
    normalized,
    invalid,
  };
}
