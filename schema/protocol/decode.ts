// Strict, bounded CBOR decoding: the only code that reads bytes from a peer before they are
// authenticated, so it accepts exactly the deterministic form encode.ts writes and nothing else.
//
// Rules (a rejection is a ProtocolError "malformed", or "too_big" over MAX_MESSAGE_BYTES; message
// "Cannot decode frame: …"):
// - well-formed (RFC 8949 Appendix C); exactly one item, no trailing bytes; truncation is detected
// - shortest-form arguments and sorted map keys (RFC 8949 §4.2.1), so each value has one encoding;
//   two equal keys in a map are reported as a duplicate key (RFC 8949 §5.6 leaves duplicates undefined)
// - no indefinite lengths; no floats, undefined or simple values beyond false/true/null
// - integers within ±(2^53−1), so they stay exact JavaScript numbers
// - map keys are integers or text; text is valid UTF-8
// - arrays and maps nest at most MAX_NESTING deep (bounds the recursion too)
// - tags only where the caller asks for one, at the top (COSE_Sign1's tag 18)
// - a declared length is checked against the bytes left before anything is allocated for it: a 5-byte
//   message cannot claim a 4 GiB byte string or a billion array items
// Byte strings are returned as views into `bytes` (no copy): the caller must not reuse that buffer.
//
// Why not cbor-x: it decodes duplicate keys (last wins) and indefinite lengths without complaint, and
// its encoder is not deterministic by default ({a: 1} gets a 16-bit map header, a Uint8Array tag 64, a
// Map tag 259). A limits walker in front of it would parse every message twice; this decoder is the
// walker and builds the values too. cbor-x stays as the independent cross-check in cbor.test.ts.

import type { CborKey, CborMap, CborValue } from "./cbor-value.ts";
import { ProtocolError } from "./errors.ts";
import { MAX_MESSAGE_BYTES, MAX_NESTING } from "./limits.ts";

const TEXT_DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export interface DecodeCborOptions {
  /** Require the top item to carry this tag (and allow no other tag anywhere). */
  tag?: number;
}

/** Decodes one deterministic CBOR item from `bytes`, or throws a ProtocolError. */
export function decodeCbor(bytes: Uint8Array, options: DecodeCborOptions = {}): CborValue {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new ProtocolError(
      "too_big",
      `Cannot decode frame: message is ${bytes.length} bytes, over the ${MAX_MESSAGE_BYTES} byte limit`,
    );
  }
  const reader: _Reader = { bytes, pos: 0 };
  if (options.tag !== undefined) {
    const start = reader.pos;
    if (reader.pos >= bytes.length || bytes[reader.pos]! >> 5 !== 6) {
      throw _malformed(`expected tag ${options.tag}, got ${_describeHead(bytes, start)}`);
    }
    reader.pos++;
    const tag = _readArgument(reader, bytes[start]! & 31);
    if (tag !== options.tag) throw _malformed(`expected tag ${options.tag}, got tag ${tag}`);
  }
  const value = _readItem(reader, 0);
  if (reader.pos !== bytes.length) {
    throw _malformed(`${bytes.length - reader.pos} unexpected bytes after the item`);
  }
  return value;
}

interface _Reader {
  readonly bytes: Uint8Array;
  pos: number;
}

function _malformed(why: string): ProtocolError {
  return new ProtocolError("malformed", `Cannot decode frame: ${why}`);
}

function _describeHead(bytes: Uint8Array, pos: number): string {
  if (pos >= bytes.length) return "end of input";
  return `major type ${bytes[pos]! >> 5}`;
}

const MAJOR_NAMES = ["integer", "negative integer", "byte string", "text string", "array", "map", "tag"];

/** Reads the argument for additional information `ai` (already consumed), enforcing shortest form. */
function _readArgument(r: _Reader, ai: number): number {
  if (ai < 24) return ai;
  const { bytes } = r;
  let value: number;
  let min: number;
  if (ai === 24) {
    if (r.pos + 1 > bytes.length) throw _malformed("input ends inside an item header");
    value = bytes[r.pos]!;
    min = 24;
    r.pos += 1;
  } else if (ai === 25) {
    if (r.pos + 2 > bytes.length) throw _malformed("input ends inside an item header");
    value = (bytes[r.pos]! << 8) | bytes[r.pos + 1]!;
    min = 0x100;
    r.pos += 2;
  } else if (ai === 26) {
    if (r.pos + 4 > bytes.length) throw _malformed("input ends inside an item header");
    value =
      ((bytes[r.pos]! << 24) >>> 0) +
      ((bytes[r.pos + 1]! << 16) | (bytes[r.pos + 2]! << 8) | bytes[r.pos + 3]!);
    min = 0x10000;
    r.pos += 4;
  } else if (ai === 27) {
    if (r.pos + 8 > bytes.length) throw _malformed("input ends inside an item header");
    const hi =
      ((bytes[r.pos]! << 24) >>> 0) +
      ((bytes[r.pos + 1]! << 16) | (bytes[r.pos + 2]! << 8) | bytes[r.pos + 3]!);
    const lo =
      ((bytes[r.pos + 4]! << 24) >>> 0) +
      ((bytes[r.pos + 5]! << 16) | (bytes[r.pos + 6]! << 8) | bytes[r.pos + 7]!);
    if (hi > 0x1fffff) throw _malformed("integer exceeds 2^53-1");
    value = hi * 0x100000000 + lo;
    min = 0x100000000;
    r.pos += 8;
  } else if (ai === 31) {
    throw _malformed("indefinite-length items are not allowed");
  } else {
    throw _malformed(`reserved additional information ${ai}`);
  }
  if (value < min) throw _malformed("integer argument is not in shortest form (RFC 8949 §4.2.1)");
  return value;
}

function _readItem(r: _Reader, depth: number): CborValue {
  const { bytes } = r;
  if (r.pos >= bytes.length) throw _malformed("input ends where an item was expected");
  const initial = bytes[r.pos++]!;
  const major = initial >> 5;
  const ai = initial & 31;
  if (major === 7) return _readSimple(ai);
  if (ai === 31) {
    throw _malformed(
      major >= 2 && major <= 5
        ? `indefinite-length ${MAJOR_NAMES[major]}s are not allowed`
        : `reserved additional information 31 on ${MAJOR_NAMES[major]}`,
    );
  }
  const arg = _readArgument(r, ai);
  const left = bytes.length - r.pos;
  switch (major) {
    case 0:
      return arg;
    case 1:
      if (arg >= Number.MAX_SAFE_INTEGER) throw _malformed("integer below -(2^53-1)");
      return -1 - arg;
    case 2:
      if (arg > left)
        throw _malformed(`byte string of ${arg} bytes runs past the end of input (${left} left)`);
      r.pos += arg;
      return bytes.subarray(r.pos - arg, r.pos);
    case 3:
      if (arg > left)
        throw _malformed(`text string of ${arg} bytes runs past the end of input (${left} left)`);
      r.pos += arg;
      return _readText(bytes.subarray(r.pos - arg, r.pos));
    case 4: {
      if (depth >= MAX_NESTING) throw _malformed(`array nesting exceeds ${MAX_NESTING}`);
      // Every item takes at least one byte.
      if (arg > left)
        throw _malformed(`array of ${arg} items runs past the end of input (${left} bytes left)`);
      const items: CborValue[] = [];
      for (let i = 0; i < arg; i++) items.push(_readItem(r, depth + 1));
      return items;
    }
    case 5:
      if (depth >= MAX_NESTING) throw _malformed(`map nesting exceeds ${MAX_NESTING}`);
      // Every entry takes at least two bytes.
      if (arg > left / 2)
        throw _malformed(`map of ${arg} entries runs past the end of input (${left} bytes left)`);
      return _readMap(r, arg, depth);
    default:
      throw _malformed(`tag ${arg} is not allowed here`);
  }
}

function _readSimple(ai: number): CborValue {
  switch (ai) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 25:
    case 26:
    case 27:
      throw _malformed("floating-point numbers are not allowed");
    case 31:
      throw _malformed("unexpected break outside an indefinite-length item");
    default:
      throw _malformed("simple values other than false, true and null are not allowed");
  }
}

function _readText(utf8: Uint8Array): string {
  try {
    return TEXT_DECODER.decode(utf8);
  } catch {
    throw _malformed("text string is not valid UTF-8");
  }
}

function _readMap(r: _Reader, count: number, depth: number): CborMap {
  const { bytes } = r;
  const map = new Map<CborKey, CborValue>();
  let prevStart = -1;
  let prevEnd = -1;
  for (let i = 0; i < count; i++) {
    const keyStart = r.pos;
    const major = keyStart < bytes.length ? bytes[keyStart]! >> 5 : -1;
    if (major !== 0 && major !== 1 && major !== 3) {
      if (major === -1) throw _malformed("input ends where a map key was expected");
      throw _malformed(
        `map key must be an integer or text, got ${major === 7 ? "a simple value" : MAJOR_NAMES[major]}`,
      );
    }
    const key = _readItem(r, depth + 1) as CborKey;
    const keyEnd = r.pos;
    if (prevStart >= 0) {
      const order = _compareRanges(bytes, prevStart, prevEnd, keyStart, keyEnd);
      if (order === 0) throw _malformed(`duplicate map key ${JSON.stringify(key)}`);
      if (order > 0) throw _malformed("map keys are not in deterministic order (RFC 8949 §4.2.1)");
    }
    prevStart = keyStart;
    prevEnd = keyEnd;
    map.set(key, _readItem(r, depth + 1));
  }
  return map;
}

function _compareRanges(
  bytes: Uint8Array,
  aStart: number,
  aEnd: number,
  bStart: number,
  bEnd: number,
): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const d = bytes[aStart + i]! - bytes[bStart + i]!;
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}
