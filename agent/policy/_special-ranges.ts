// The special-purpose address blocks the policy tells apart: the IANA IPv4 and IPv6 Special-Purpose
// Address Registries (RFC 6890, as updated) plus the cloud metadata endpoints, which sit inside
// ordinary-looking ranges. The longest matching prefix wins, so a metadata /32 inside link-local or
// CGNAT space is "metadata" even on a host that opened the surrounding network.
import { cidrContains } from "./cidr-contains.ts";
import { type Cidr, parseCidr } from "./parse-cidr.ts";
import type { IpKind } from "./types.ts";

export interface SpecialRange {
  readonly cidr: Cidr;
  readonly kind: IpKind;
  /** What the block is, for messages and for the reader of this table. */
  readonly name: string;
}

const range = (text: string, kind: IpKind, name: string): SpecialRange => ({
  cidr: parseCidr(text),
  kind,
  name,
});

// Built on first use, not at load: parsing these 40 CIDRs is the first hot loop of an agent that starts,
// and it made the JIT compile the parsers for an agent that may never check a target.
const _table = (): readonly SpecialRange[] => [
  // ## IPv4
  range("0.0.0.0/8", "reserved", "'this network', RFC 791"),
  // Linux connects 0.0.0.0 to the host itself: a classic way around a loopback filter.
  range("0.0.0.0/32", "unspecified", "the unspecified address, RFC 1122 §3.2.1.3"),
  range("10.0.0.0/8", "private", "private use, RFC 1918"),
  range("100.64.0.0/10", "private", "shared address space (CGNAT), RFC 6598"),
  range("100.100.100.200/32", "metadata", "Alibaba Cloud instance metadata"),
  range("127.0.0.0/8", "loopback", "loopback, RFC 1122 §3.2.1.3"),
  range("169.254.0.0/16", "link-local", "link-local, RFC 3927"),
  range("169.254.169.254/32", "metadata", "instance metadata (AWS, GCP, Azure, OCI, OpenStack)"),
  range("169.254.170.2/32", "metadata", "AWS ECS task credentials"),
  range("169.254.170.23/32", "metadata", "AWS EKS Pod Identity credentials"),
  range("168.63.129.16/32", "metadata", "Azure WireServer"),
  range("172.16.0.0/12", "private", "private use, RFC 1918"),
  range("192.0.0.0/24", "reserved", "IETF protocol assignments, RFC 6890"),
  range("192.0.2.0/24", "reserved", "documentation TEST-NET-1, RFC 5737"),
  range("192.88.99.0/24", "reserved", "6to4 relay anycast, deprecated by RFC 7526"),
  range("192.168.0.0/16", "private", "private use, RFC 1918"),
  range("198.18.0.0/15", "reserved", "benchmarking, RFC 2544"),
  range("198.51.100.0/24", "reserved", "documentation TEST-NET-2, RFC 5737"),
  range("203.0.113.0/24", "reserved", "documentation TEST-NET-3, RFC 5737"),
  range("224.0.0.0/4", "multicast", "multicast, RFC 5771"),
  range("240.0.0.0/4", "reserved", "reserved for future use, RFC 1112 §4"),
  range("255.255.255.255/32", "broadcast", "limited broadcast, RFC 919"),
  // ## IPv6 (the IPv4-embedding blocks ::/96, ::ffff:0:0/96, ::ffff:0:0:0/96, 64:ff9b::/96 are
  // handled by _embeddedV4 before this table is consulted)
  range("::/128", "unspecified", "the unspecified address, RFC 4291 §2.5.2"),
  range("::1/128", "loopback", "loopback, RFC 4291 §2.5.3"),
  range("64:ff9b:1::/48", "reserved", "local-use NAT64, RFC 8215"),
  range("100::/64", "reserved", "discard-only, RFC 6666"),
  range("2001::/23", "reserved", "IETF protocol assignments incl. Teredo, RFC 2928"),
  range("2001:db8::/32", "reserved", "documentation, RFC 3849"),
  range("2002::/16", "reserved", "6to4, RFC 3056"),
  range("3fff::/20", "reserved", "documentation, RFC 9637"),
  range("fc00::/7", "private", "unique local, RFC 4193"),
  range("fd00:ec2::23/128", "metadata", "AWS EKS Pod Identity credentials"),
  range("fd00:ec2::254/128", "metadata", "AWS instance metadata (IMDS over IPv6)"),
  range("fe80::/10", "link-local", "link-local, RFC 4291 §2.5.6"),
  range("fe80::a9fe:a9fe/128", "metadata", "OpenStack metadata (IPv6)"),
  range("fec0::/10", "reserved", "site-local, deprecated by RFC 3879"),
  range("ff00::/8", "multicast", "multicast, RFC 4291 §2.7"),
];

let ranges: readonly SpecialRange[] | undefined;

/** Global unicast (RFC 4291 §2.4): IPv6 outside it and outside the table is unassigned space. */
let globalUnicast: Cidr | undefined;

/** The most specific special range holding `ip` (4 or 16 bytes), if any. */
export function _specialRange(ip: Uint8Array): SpecialRange | undefined {
  let best: SpecialRange | undefined;
  ranges ??= _table();
  for (const r of ranges) {
    if (cidrContains(r.cidr, ip) && (best === undefined || r.cidr.prefix > best.cidr.prefix)) best = r;
  }
  return best;
}

/** Whether IPv6 `ip` is in global unicast space (2000::/3). */
export function _isGlobalUnicast(ip: Uint8Array): boolean {
  globalUnicast ??= parseCidr("2000::/3");
  return cidrContains(globalUnicast, ip);
}
