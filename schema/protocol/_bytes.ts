// Byte helpers shared by the protocol files: base64url (RFC 4648 §5), hex, compare, concat.
// Written out rather than taken from Buffer/atob so the same code runs in workerd, Bun, Deno and Node.

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64URL_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64URL.length; i++) B64URL_INDEX[B64URL.charCodeAt(i)] = i;

/** Unpadded base64url of `bytes`. */
export function _toBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * Strict unpadded base64url decode: no padding, no whitespace, no non-zero trailing bits, so every byte
 * string has exactly one text form (a key printed twice never compares unequal). Returns undefined when
 * `text` is not canonical base64url.
 */
export function _fromBase64Url(text: string): Uint8Array | undefined {
  const rest = text.length % 4;
  if (rest === 1) return undefined;
  const out = new Uint8Array(((text.length * 3) >> 2) | 0);
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64URL_INDEX[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/** Lowercase hex of `bytes`. */
export function _toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

/** Bytes of a lowercase or uppercase hex string; throws TypeError when it is not hex. */
export function _fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`Cannot decode hex: "${hex.slice(0, 16)}…" is not an even-length hex string`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Bytewise lexicographic order (RFC 8949 §4.2.1 map key order): negative, zero or positive. */
export function _compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

export function _equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && _compareBytes(a, b) === 0;
}

export function _concatBytes(...parts: Uint8Array[]): Uint8Array {
  return _joinBytes(parts);
}

/** _concatBytes of a list, however long (a spread of a long list would overflow the call's arguments). */
export function _joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** noble-style boundary check: `value` is a Uint8Array, of exactly `length` bytes when given. */
export function _abytes(value: unknown, length: number | undefined, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot use ${name}: expected Uint8Array, got ${_typeName(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`Cannot use ${name}: expected ${length} bytes, got ${value.length}`);
  }
  return value;
}

export function _typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof Map) return "map";
  return typeof value;
}

/** `bytes` as WebCrypto's BufferSource: the same view, or a copy if it sits on a SharedArrayBuffer. */
export function _bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
}
