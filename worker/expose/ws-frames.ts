// WebSocket frames, client side (RFC 6455 §5).
//
// Why: an exposed service's WebSocket is reached over a raw TCP stream from the host, which a Worker
// cannot hand to fetch(). The proxy does the opening handshake itself over that stream (http1.ts, with
// acceptKey below) and then speaks frames with this codec: it masks what it sends, as a client must, and
// checks what the upstream server sends before relaying whole messages to the browser's WebSocket.
//
// Frame layout (§5.2):
//   byte 0   FIN(1) RSV1-3(3) opcode(4)
//   byte 1   MASK(1) length(7): 0-125, or 126 then a 16-bit length, or 127 then a 64-bit length
//   [4 bytes masking key when MASK], then the payload (XORed with the key when MASK)
//
// Pure and runtime-neutral: Uint8Array, TextEncoder/TextDecoder and crypto only.
import { _joinBytes } from "../../schema/protocol/_bytes.ts";
import { toBase64 } from "../../schema/protocol/index.ts";

export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes for a peer's protocol violation (§7.4.1). */
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_TOO_BIG = 1009;

export class WsProtocolError extends Error {
  override name = "WsProtocolError";

  constructor(
    readonly code: typeof CLOSE_PROTOCOL_ERROR | typeof CLOSE_INVALID_DATA | typeof CLOSE_TOO_BIG,
    message: string,
  ) {
    super(message);
  }
}

export type WsEvent =
  | { type: "text"; data: string }
  | { type: "binary"; data: Uint8Array }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  | { type: "close"; code?: number; reason: string };

// ## Encoding

/** One frame. Client frames are masked with a fresh random key (§5.3), so `mask` defaults to true. */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  opts: { fin?: boolean; mask?: boolean } = {},
): Uint8Array {
  const fin = opts.fin ?? true;
  const mask = opts.mask ?? true;
  if (!KNOWN_OPCODES.has(opcode)) throw new RangeError(`Cannot encode frame: unknown opcode ${opcode}`);
  if (opcode >= 0x8 && (payload.length > 125 || !fin))
    throw new RangeError("Cannot encode frame: a control frame must be unfragmented with at most 125 bytes");
  const lengthBytes = payload.length < 126 ? 0 : payload.length <= 0xffff ? 2 : 8;
  const start = 2 + lengthBytes + (mask ? 4 : 0);
  const frame = new Uint8Array(start + payload.length);
  const view = new DataView(frame.buffer);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  frame[1] = (mask ? 0x80 : 0) | (lengthBytes === 0 ? payload.length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) view.setUint16(2, payload.length);
  if (lengthBytes === 8) view.setBigUint64(2, BigInt(payload.length));
  if (!mask) {
    frame.set(payload, start);
    return frame;
  }
  const key = crypto.getRandomValues(new Uint8Array(4));
  frame.set(key, start - 4);
  for (let i = 0; i < payload.length; i++) frame[start + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}

/** The payload of a close frame (§5.5.1): the code, then the reason cut to fit 123 bytes without
 * splitting a UTF-8 sequence (control frames carry at most 125). */
export function closePayload(code: number, reason: string): Uint8Array {
  if (!isValidCloseCode(code))
    throw new RangeError(`Cannot encode close frame: ${code} is not a valid close code`);
  const text = encoder.encode(reason);
  let end = Math.min(text.length, 123);
  while (end < text.length && (text[end]! & 0xc0) === 0x80) end--; // back off a continuation byte
  const payload = new Uint8Array(2 + end);
  new DataView(payload.buffer).setUint16(0, code);
  payload.set(text.subarray(0, end), 2);
  return payload;
}

// ## Decoding

/**
 * Turns the bytes of a WebSocket stream into whole messages and control frames, incrementally.
 * Fragments are reassembled (control frames may come between them). Any violation throws
 * WsProtocolError whose code the caller should close with; after that the parser is unusable.
 */
export class FrameParser {
  readonly #maxMessageBytes: number;
  readonly #expectMasked: boolean;
  readonly #head = new Uint8Array(14); // longest header: 2 + 8 length + 4 mask
  #headLen = 0;
  #frame:
    | { fin: boolean; opcode: number; mask?: Uint8Array; payload: Uint8Array; filled: number }
    | undefined;
  #message: { opcode: number; fragments: Uint8Array[]; bytes: number } | undefined;
  #closed = false;

  constructor(opts: { maxMessageBytes?: number; expectMasked?: boolean } = {}) {
    this.#maxMessageBytes = opts.maxMessageBytes ?? 1024 * 1024;
    this.#expectMasked = opts.expectMasked ?? false;
  }

  push(bytes: Uint8Array): WsEvent[] {
    const events: WsEvent[] = [];
    let at = 0;
    for (;;) {
      const frame = this.#frame;
      if (frame && frame.filled === frame.payload.length) {
        this.#frame = undefined;
        const event = this.#endFrame(frame);
        if (event) events.push(event);
        continue;
      }
      if (at === bytes.length) break;
      if (this.#closed) fail(CLOSE_PROTOCOL_ERROR, "data after a close frame");
      if (!frame) {
        const n = Math.min(headerLength(this.#head, this.#headLen) - this.#headLen, bytes.length - at);
        this.#head.set(bytes.subarray(at, at + n), this.#headLen);
        this.#headLen += n;
        at += n;
        if (this.#headLen === headerLength(this.#head, this.#headLen)) this.#startFrame();
        continue;
      }
      const n = Math.min(frame.payload.length - frame.filled, bytes.length - at);
      frame.payload.set(bytes.subarray(at, at + n), frame.filled);
      if (frame.mask)
        for (let i = frame.filled; i < frame.filled + n; i++) frame.payload[i]! ^= frame.mask[i & 3]!;
      frame.filled += n;
      at += n;
    }
    return events;
  }

  /** Checks a complete header before any payload arrives, so an oversized frame is refused unread. */
  #startFrame(): void {
    const head = this.#head;
    const size = this.#headLen;
    this.#headLen = 0;
    const fin = (head[0]! & 0x80) !== 0;
    const opcode = head[0]! & 0x0f;
    const masked = (head[1]! & 0x80) !== 0;
    const length7 = head[1]! & 0x7f;
    const view = new DataView(head.buffer);
    const length =
      length7 === 126 ? view.getUint16(2) : length7 === 127 ? Number(view.getBigUint64(2)) : length7;
    if ((head[0]! & 0x70) !== 0)
      fail(CLOSE_PROTOCOL_ERROR, "RSV bits are set but no extension was negotiated");
    if (!KNOWN_OPCODES.has(opcode)) fail(CLOSE_PROTOCOL_ERROR, `unknown opcode ${opcode}`);
    if (masked !== this.#expectMasked)
      fail(
        CLOSE_PROTOCOL_ERROR,
        this.#expectMasked ? "client frames must be masked" : "server frames must not be masked",
      );
    if (length7 === 127 && head[2]! & 0x80)
      fail(CLOSE_PROTOCOL_ERROR, "64-bit length has its most significant bit set");
    if (opcode >= 0x8) {
      if (!fin) fail(CLOSE_PROTOCOL_ERROR, "fragmented control frame");
      if (length > 125) fail(CLOSE_PROTOCOL_ERROR, `control frame of ${length} bytes (at most 125)`);
    } else {
      if (opcode === OPCODE.continuation && !this.#message)
        fail(CLOSE_PROTOCOL_ERROR, "continuation frame with no message to continue");
      if (opcode !== OPCODE.continuation && this.#message)
        fail(CLOSE_PROTOCOL_ERROR, "new message before the previous one was finished");
      const total = (this.#message?.bytes ?? 0) + length;
      if (total > this.#maxMessageBytes)
        fail(
          CLOSE_TOO_BIG,
          `message of at least ${total} bytes is over the limit of ${this.#maxMessageBytes}`,
        );
    }
    const mask = masked ? head.slice(size - 4, size) : undefined;
    this.#frame = { fin, opcode, mask, payload: new Uint8Array(length), filled: 0 };
  }

  #endFrame(frame: { fin: boolean; opcode: number; payload: Uint8Array }): WsEvent | undefined {
    const { fin, opcode, payload } = frame;
    if (opcode === OPCODE.ping) return { type: "ping", data: payload };
    if (opcode === OPCODE.pong) return { type: "pong", data: payload };
    if (opcode === OPCODE.close) {
      this.#closed = true;
      return parseClose(payload);
    }
    const message = this.#message ?? { opcode, fragments: [], bytes: 0 };
    message.fragments.push(payload);
    message.bytes += payload.length;
    if (!fin) {
      this.#message = message;
      return undefined;
    }
    this.#message = undefined;
    const data = message.fragments.length === 1 ? payload : _joinBytes(message.fragments);
    return message.opcode === OPCODE.text
      ? { type: "text", data: decodeText(data, "text message") }
      : { type: "binary", data };
  }
}

// ## Handshake (§4)

const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The Sec-WebSocket-Accept value a server must answer to `key` (§4.2.2). */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + HANDSHAKE_GUID));
  return toBase64(new Uint8Array(digest));
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64 (§4.1). */
export function newWebSocketKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(16)));
}

// ## Helpers

const encoder = new TextEncoder();
const KNOWN_OPCODES = new Set<number>(Object.values(OPCODE));

function fail(code: WsProtocolError["code"], what: string): never {
  throw new WsProtocolError(code, `Invalid frame: ${what}`);
}

/** Bytes of the header starting at `head`, as far as the first `have` bytes tell. */
function headerLength(head: Uint8Array, have: number): number {
  if (have < 2) return 2;
  const length7 = head[1]! & 0x7f;
  return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (head[1]! & 0x80 ? 4 : 0);
}

/** §7.4: codes a peer may send. 1005, 1006 and 1015 are reserved for reporting, never sent. */
function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

function parseClose(payload: Uint8Array): WsEvent {
  if (payload.length === 0) return { type: "close", reason: "" };
  if (payload.length === 1) fail(CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload");
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) fail(CLOSE_PROTOCOL_ERROR, `close code ${code} is not one a peer may send`);
  return { type: "close", code, reason: decodeText(payload.subarray(2), "close reason") };
}

function decodeText(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    fail(CLOSE_INVALID_DATA, `${what} is not valid UTF-8`);
  }
}
