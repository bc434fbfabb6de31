// `--allow-net` values: an IPv4 or IPv6 network in CIDR notation (RFC 4632 §3.1, RFC 4291 §2.3). The
// address must be the network itself: `10.1.2.3/16` is refused rather than widened, because an owner who
// wrote it may have meant 10.1.2.3/32, and a policy should not guess which way to be generous.

import { _quote } from "./_quote.ts";
import { formatIp } from "./format-ip.ts";
import { _notAnAddress, _tryParseIp } from "./parse-ip.ts";

/** A parsed network: `network` has the host bits cleared; `text` is its canonical spelling. */
export interface Cidr {
  readonly network: Uint8Array;
  readonly prefix: number;
  readonly text: string;
}

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

/** `bytes` with every bit after the first `prefix` cleared. */
function _mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = bytes[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** Parses `10.1.0.0/16` or `fd12:3456::/48`; throws TypeError with the reason otherwise. */
export function parseCidr(text: string): Cidr {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse CIDR: expected a string, got ${typeof text}`);
  }
  const fail = (why: string) => new TypeError(`Cannot parse CIDR ${_quote(text)}: ${why}`);
  const slash = text.indexOf("/");
  if (slash < 0) throw fail("expected address/prefix, like 10.1.0.0/16 or 10.1.2.3/32");
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const bytes = _tryParseIp(address);
  if (bytes === undefined) throw fail(_notAnAddress(address));
  const bits = bytes.length * 8;
  if (!PREFIX.test(prefixText) || Number(prefixText) > bits) {
    throw fail(`the prefix length must be 0..${bits} without leading zeros`);
  }
  const prefix = Number(prefixText);
  const network = _mask(bytes, prefix);
  const canonical = `${formatIp(network)}/${prefix}`;
  if (network.some((b, i) => b !== bytes[i])) throw fail(`host bits are set (did you mean ${canonical}?)`);
  return { network, prefix, text: canonical };
}
