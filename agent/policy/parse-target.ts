// Service targets: `host:port`, where host is a strict IPv4 address, a bracketed IPv6 address
// (RFC 3986 §3.2.2) or a DNS name. Nothing a URL parser would take beyond that is accepted: no scheme,
// userinfo, path, zone id, whitespace or loose numeric spelling, so that the text the policy checks is
// the text the agent connects to.
import { _dnsNameWhy } from "./_dns-name.ts";
import { _readPort } from "./_port.ts";
import { _quote } from "./_quote.ts";
import { formatIp } from "./format-ip.ts";
import { _hasZoneId, _notAnAddress, _parseIp4, _tryParseIp } from "./parse-ip.ts";

/** A parsed target. `host` is canonical: IP text (IPv6 without brackets) or a lowercase DNS name. */
export interface Target {
  host: string;
  port: number;
  isIp: boolean;
}

/** The longest sensible target: a 253-character name, ':' and five digits, with room for brackets. */
const MAX_TARGET = 261;

/** The target `text` names, or why it names none (a sentence for messages, without "Cannot …"). */
export function _readTarget(text: string): { target: Target } | { why: string } {
  const q = _quote(text);
  if (text.length > MAX_TARGET) return { why: `${q} is too long for a target` };
  if (/\s/.test(text)) return { why: `${q} contains whitespace` };
  if (text.includes("@")) return { why: `${q} has userinfo ('user@'), which a target cannot carry` };
  if (/[/?#\\]/.test(text)) return { why: `${q} is not host:port (no scheme, path or query)` };

  let host: string;
  let portText: string;
  let bracketed = false;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return { why: `${q} has an unclosed '['` };
    bracketed = true;
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (!rest.startsWith(":")) return { why: `${q} has no port (expected [address]:port)` };
    portText = rest.slice(1);
  } else {
    const colon = text.indexOf(":");
    if (colon < 0) return { why: `${q} has no port (expected host:port)` };
    if (text.indexOf(":", colon + 1) >= 0) {
      return { why: `${q} is ambiguous: an IPv6 address needs brackets, as in [::1]:22` };
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }

  if (host === "") return { why: `${q} has an empty host` };
  if (bracketed && _hasZoneId(host)) {
    return { why: `${_quote(host)} has a zone id, which a target cannot carry` };
  }
  const port = _readPort(portText);
  if ("why" in port) return port;

  if (bracketed) {
    // Brackets are for IPv6 only (RFC 3986 §3.2.2): `[127.0.0.1]` is refused with the rest.
    const ip = host.includes(":") ? _tryParseIp(host) : undefined;
    if (ip === undefined) return { why: _notAnAddress(host) };
    return { target: { host: formatIp(ip), port: port.port, isIp: true } };
  }
  const v4 = _parseIp4(host);
  if (v4 !== undefined) return { target: { host: formatIp(v4), port: port.port, isIp: true } };
  const why = _dnsNameWhy(host);
  if (why !== undefined) return { why };
  return { target: { host: host.toLowerCase(), port: port.port, isIp: false } };
}

/**
 * Parses `127.0.0.1:22`, `[::1]:22` or `db.internal:5432`. Throws TypeError saying what is wrong for
 * anything else, including loose IPv4 spellings, zone ids, userinfo and ports outside 1..65535.
 */
export function parseTarget(text: string): Target {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse target: expected a string, got ${typeof text}`);
  }
  const read = _readTarget(text);
  if ("why" in read) throw new TypeError(`Cannot parse target: ${read.why}`);
  return read.target;
}
