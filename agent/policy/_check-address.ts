// The rule for API-added services, on one address: loopback is always reachable; private, reserved and
// public addresses only inside a network the owner opened with --allow-net; metadata, link-local,
// unspecified, multicast and broadcast never, whatever was opened (a metadata /32 sits inside networks
// an owner may well open: 169.254/16, 100.64/10). IPv6 spellings of IPv4 addresses are refused outright
// so that no IPv4 check can be walked around through a dual-stack socket; NAT64 is the exception, judged
// by the IPv4 address it carries, since on an IPv6-only host it is the only way to reach IPv4.
import { _embeddedV4 } from "./_embedded-v4.ts";
import { _specialRange } from "./_special-ranges.ts";
import { cidrContains } from "./cidr-contains.ts";
import { classifyIp } from "./classify-ip.ts";
import { formatIp } from "./format-ip.ts";
import type { PolicyConfig } from "./types.ts";

/** Why an address is refused, in two grammatical shapes for the two messages it ends up in. */
export interface Refusal {
  /** Canonical text of the refused address. */
  readonly address: string;
  /** Predicate after the address: "is a cloud metadata address". */
  readonly is: string;
  /** Apposition after "resolves to <address>, ": "a cloud metadata address". */
  readonly as: string;
  /** What the owner could do, when opening a network is a reasonable answer. */
  readonly hint?: string;
}

function _refusal(address: string, noun: string, hint?: string, article = "is"): Refusal {
  return { address, is: `${article} ${noun}`, as: noun, ...(hint !== undefined ? { hint } : {}) };
}

/**
 * Why an API-added service may not connect to `ip`, or undefined when it may. `viaTranslator` is set for
 * the IPv4 address inside a NAT64 address: its loopback is the translator's, not this host's.
 */
export function _checkAddress(
  ip: Uint8Array,
  policy: PolicyConfig,
  viaTranslator = false,
): Refusal | undefined {
  const address = formatIp(ip);
  const embedded = _embeddedV4(ip);
  if (embedded !== undefined) {
    switch (embedded.form) {
      case "mapped":
        return _refusal(address, "an IPv4-mapped IPv6 address (write IPv4 destinations as plain IPv4)");
      case "translated":
        return _refusal(address, `an IPv4-translated IPv6 address for ${formatIp(embedded.v4)} (RFC 2765)`);
      case "compatible":
        return _refusal(
          address,
          `an IPv4-compatible IPv6 address for ${formatIp(embedded.v4)} (deprecated, RFC 4291 §2.5.5.1)`,
        );
      case "nat64": {
        const inner = _checkAddress(embedded.v4, policy, true);
        if (inner === undefined) return undefined;
        return _refusal(address, `a NAT64 address (RFC 6052) for ${inner.address}, ${inner.as}`);
      }
    }
  }
  const opened = () => policy.allowNets.some((cidr) => cidrContains(cidr, ip));
  const hostCidr = `${address}/${ip.length * 8}`;
  switch (classifyIp(ip)) {
    case "loopback":
      return viaTranslator ? _refusal(address, "a loopback address, the translator's own") : undefined;
    case "metadata":
      return _refusal(address, "a cloud metadata address");
    case "link-local":
      return _refusal(address, "a link-local address");
    case "unspecified":
      return _refusal(address, "the unspecified address");
    case "multicast":
      return _refusal(address, "a multicast address");
    case "broadcast":
      return _refusal(address, "the broadcast address");
    case "private": {
      if (opened()) return undefined;
      const range = _specialRange(ip)?.cidr.text ?? hostCidr;
      const noun = "a private range this host has not opened";
      return _refusal(address, noun, `start the agent with --allow-net ${range}`, "is in");
    }
    case "reserved": {
      if (opened()) return undefined;
      const name = _specialRange(ip)?.name ?? "unassigned IPv6 space, RFC 4291 §2.4";
      const noun = "a reserved range this host has not opened";
      return _refusal(address, noun, `${name}; start the agent with --allow-net ${hostCidr}`, "is in");
    }
    case "public":
      if (opened()) return undefined;
      return _refusal(
        address,
        "an address outside this host and the networks it has opened",
        `start the agent with --allow-net ${hostCidr}`,
      );
  }
}

/** `refused: <address> <is> (<hint>)`: the refusal of an address the service named itself. */
export function _refusedAddress(r: Refusal): string {
  return `refused: ${r.address} ${r.is}${r.hint !== undefined ? ` (${r.hint})` : ""}`;
}

/**
 * `refused: <name> resolves to <address>, <as>`: no hint, because DNS (not the owner) chose that address
 * and the name may be rebinding to it on purpose.
 */
export function _refusedResolution(name: string, r: Refusal): string {
  return `refused: ${name} resolves to ${r.address}, ${r.as}`;
}
