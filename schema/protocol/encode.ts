// Deterministic CBOR encoding (RFC 8949 §4.2.1 "core deterministic encoding"): shortest-form
// arguments, definite lengths only, map keys sorted by the bytewise order of their encodings.
// decode.ts accepts exactly this form and nothing else, so every value has one encoding and
// decode → encode gives back the same bytes (the known-answer vectors rely on it).

import { _compareBytes, _typeName } from "./_bytes.ts";
import type { CborKey, CborValue } from "./cbor-value.ts";
import { MAX_NESTING } from "./limits.ts";

const TEXT_ENCODER = new TextEncoder();

/** Encodes `value` to deterministic CBOR. Throws TypeError / RangeError on values outside the model. */
export function encodeCbor(value: CborValue): Uint8Array {
  // One writer for every call (encoding is synchronous and never re-entered): a frame is several small
  // encodings, and a buffer and DataView for each was a tenth of the time spent sealing a small frame.
  const w = _shared;
  w.pos = 0;
  _writeValue(w, value, 0);
  if (w.buf.length === SHARED_BYTES) return w.buf.slice(0, w.pos);
  // It grew for a large value: the result keeps that buffer, the next call starts with a small one.
  _shared = new _Writer(SHARED_BYTES);
  return w.finish();
}

const SHARED_BYTES = 4096;
class _Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    // A large byte string (a data chunk) gets room for itself and a little more, not a doubling: one
    // copy of the chunk instead of several as the buffer grows past it.
    if (n >= 4096) size = Math.max(this.pos + n + 256, this.buf.length);
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  head(major: number, arg: number): void {
    this.reserve(9);
    const m = major << 5;
    if (arg < 24) {
      this.buf[this.pos++] = m | arg;
    } else if (arg < 0x100) {
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = arg;
    } else if (arg < 0x10000) {
      this.buf[this.pos++] = m | 25;
      this.view.setUint16(this.pos, arg);
      this.pos += 2;
    } else if (arg < 0x100000000) {
      this.buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, arg);
      this.pos += 4;
    } else {
      this.buf[this.pos++] = m | 27;
      this.view.setUint32(this.pos, Math.floor(arg / 0x100000000));
      this.view.setUint32(this.pos + 4, arg >>> 0);
      this.pos += 8;
    }
  }

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  finish(): Uint8Array {
    // A view when the buffer is nearly full (no copy of a big chunk), a trimmed copy otherwise.
    return this.pos >= this.buf.length - 512 && this.pos > 4096
      ? this.buf.subarray(0, this.pos)
      : this.buf.slice(0, this.pos);
  }
}

function _writeValue(w: _Writer, value: CborValue, depth: number): void {
  switch (typeof value) {
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new RangeError(
          `Cannot encode CBOR: ${value} is not a safe integer (floats are not used on the wire)`,
        );
      }
      if (value >= 0) w.head(0, value);
      else w.head(1, -1 - value);
      return;
    case "string":
      _writeText(w, value);
      return;
    case "boolean":
      w.head(7, value ? 21 : 20);
      return;
  }
  if (value === null) {
    w.head(7, 22);
  } else if (value instanceof Uint8Array) {
    w.head(2, value.length);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    if (depth >= MAX_NESTING)
      throw new RangeError(`Cannot encode CBOR: array nesting exceeds ${MAX_NESTING}`);
    w.head(4, value.length);
    for (const item of value) _writeValue(w, item, depth + 1);
  } else if (value instanceof Map) {
    if (depth >= MAX_NESTING) throw new RangeError(`Cannot encode CBOR: map nesting exceeds ${MAX_NESTING}`);
    _writeMap(w, value, depth);
  } else {
    throw new TypeError(`Cannot encode CBOR: unsupported value of type ${_typeName(value)}`);
  }
}

function _writeText(w: _Writer, text: string): void {
  if (_writeAscii(w, text)) return;
  // A lone surrogate would silently become U+FFFD and the peer would see a different string.
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw new TypeError("Cannot encode CBOR: text contains a lone surrogate (not valid UTF-8)");
  }
  const bytes = TEXT_ENCODER.encode(text);
  w.head(3, bytes.length);
  w.bytes(bytes);
}

/**
 * Writes `text` when it is ASCII (frame types, field values, ids: nearly every string on the wire),
 * where UTF-8 is one byte per character; false, having written nothing, otherwise.
 */
function _writeAscii(w: _Writer, text: string): boolean {
  const n = text.length;
  w.reserve(9 + n);
  const start = w.pos;
  w.head(3, n);
  const buf = w.buf;
  let at = w.pos;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) {
      w.pos = start;
      return false;
    }
    buf[at++] = c;
  }
  w.pos = at;
  return true;
}

/** A map key's encoding, without a writer of its own (keys are short: this runs for every frame). */
function _encodeKey(key: number | string): Uint8Array {
  if (typeof key === "number") {
    let cached = _numberKeys.get(key);
    if (cached === undefined) {
      const w = new _Writer(9);
      _writeValue(w, key, 0);
      cached = w.finish();
      if (_numberKeys.size < KEY_CACHE_SIZE) _numberKeys.set(key, cached);
    }
    return cached;
  }
  let cached = _textKeys.get(key);
  if (cached === undefined) {
    const w = new _Writer(key.length + 9);
    _writeText(w, key);
    cached = w.finish();
    if (_textKeys.size < KEY_CACHE_SIZE) _textKeys.set(key, cached);
  }
  return cached;
}

/**
 * Encoded map keys: a frame's keys are a few dozen names and labels, encoded for every frame. Bounded,
 * since maps from elsewhere (facts, config) bring keys of their own; the first comers stay.
 */
const KEY_CACHE_SIZE = 512;
const _textKeys = new Map<string, Uint8Array>();
const _numberKeys = new Map<number, Uint8Array>();

function _writeMap(w: _Writer, map: ReadonlyMap<CborKey, CborValue>, depth: number): void {
  const entries: [Uint8Array, CborValue][] = [];
  for (const [key, value] of map) {
    if (typeof key !== "number" && typeof key !== "string") {
      throw new TypeError(`Cannot encode CBOR: map key of type ${_typeName(key)} (only integers and text)`);
    }
    entries.push([_encodeKey(key), value]);
  }
  entries.sort((a, b) => _compareBytes(a[0], b[0]));
  w.head(5, entries.length);
  // Distinct Map keys always encode differently (text is checked well-formed), so no duplicates here.
  for (const [key, value] of entries) {
    w.bytes(key);
    _writeValue(w, value, depth + 1);
  }
}

let _shared = new _Writer(SHARED_BYTES);
