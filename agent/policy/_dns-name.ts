// Host names: RFC 1123 §2.1 (labels of letters, digits and '-', 1-63 characters, not starting or ending
// with '-'; at most 253 characters in all, RFC 1035 §2.3.4). A name whose last label is a number
// (`127.1`, `0x7f.1`, `2130706433`) is no name at all (RFC 3696 §2: no top-level domain is all-numeric)
// but an IPv4 address in a loose spelling, which resolvers and URL parsers would turn into an address
// (WHATWG URL "ends in a number"). Those are refused as malformed addresses, never resolved.

import { _quote } from "./_quote.ts";
import { _notAnAddress } from "./parse-ip.ts";

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const NUMERIC_LABEL = /^(?:[0-9]+|0[xX][0-9A-Fa-f]*)$/;
const MAX_NAME = 253;

/** Why `host` is not a DNS name that may be resolved, or undefined when it is one. */
export function _dnsNameWhy(host: string): string | undefined {
  const labels = host.split(".");
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) return _notAnAddress(host);
  if (host.length > MAX_NAME || !labels.every((label) => LABEL.test(label))) {
    return (
      `${_quote(host)} is not a valid DNS name (RFC 1123: dot-separated labels of letters, digits and '-', ` +
      "1-63 characters each, not starting or ending with '-')"
    );
  }
  return undefined;
}
