// Strict IP address text → bytes. Only the two standard spellings are accepted: dotted-quad IPv4 with
// exactly four decimal octets and no leading zeros, and IPv6 text as in RFC 4291 §2.2 (hex groups, at
// most one "::", an optional trailing dotted quad). The other spellings inet_aton() takes — 2130706433,
// 0x7f000001, 0177.0.0.1, 127.1 — are refused, never interpreted: when a checker and a connector read
// one string as two addresses, the check is bypassed (RFC 6943 §3.1.1). Zone ids (`%eth0`) are refused
// too (RFC 6874): they only matter for link-local addresses, which the policy does not reach.
import { _quote } from "./_quote.ts";

/** The longest valid text: six 4-digit groups and a dotted quad (0000:…:ffff:255.255.255.255). */
const MAX_IP_TEXT = 45;

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** The 4 bytes of a strict dotted quad, or undefined. */
export function _parseIp4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** The 16-bit groups of `pieces`, where only the very last piece may be a dotted quad (two groups). */
function _groups(pieces: readonly string[], last: boolean): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (HEX_GROUP.test(piece)) {
      out.push(Number.parseInt(piece, 16));
    } else if (last && i === pieces.length - 1) {
      const v4 = _parseIp4(piece);
      if (v4 === undefined) return undefined;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      return undefined;
    }
  }
  return out;
}

/** The 16 bytes of RFC 4291 §2.2 text, or undefined. */
function _parseIp6(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const compressed = halves.length === 2;
  const head = _groups(split(halves[0]!), !compressed);
  const tail = compressed ? _groups(split(halves[1]!), true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const given = head.length + tail.length;
  // "::" stands for one or more zero groups (RFC 4291 §2.2, 2.); without it all eight must be there.
  if (compressed ? given > 7 : given !== 8) return undefined;
  const groups = [...head, ...new Array<number>(8 - given).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** The bytes of a strict IPv4 or IPv6 address text, or undefined. */
export function _tryParseIp(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > MAX_IP_TEXT) return undefined;
  return text.includes(":") ? _parseIp6(text) : _parseIp4(text);
}

/** Whether `text` is IPv6 with a zone id appended (RFC 4007 §11: `fe80::1%eth0`). */
export function _hasZoneId(text: string): boolean {
  const percent = text.indexOf("%");
  return percent > 0 && _parseIp6(text.slice(0, percent)) !== undefined;
}

/** Why `text` is not an address, for messages: the one sentence every malformed spelling gets. */
export function _notAnAddress(text: string): string {
  return `${_quote(text)} is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)`;
}

/**
 * Parses an IP address: 4 bytes for dotted-quad IPv4, 16 for IPv6. Throws TypeError for anything else,
 * including the numeric spellings some parsers accept and IPv6 with a zone id.
 */
export function parseIp(text: string): Uint8Array {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse IP address: expected a string, got ${typeof text}`);
  }
  const bytes = _tryParseIp(text);
  if (bytes === undefined) {
    const why = _hasZoneId(text) ? `${_quote(text)} has a zone id` : _notAnAddress(text);
    throw new TypeError(`Cannot parse IP address: ${why}`);
  }
  return bytes;
}
