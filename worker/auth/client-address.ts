// The client address that failed authentication is counted against. On Cloudflare, CF-Connecting-IP
// is set by the edge, which replaces any value the client sent, so it cannot be forged. Miniflare sets
// it to the socket's peer (127.0.0.1 from loopback) but passes a client's own value through: locally
// and in tests a caller can pose as another address, which the tests use to act as many clients.
//
// Security: an IPv6 client usually holds a whole /64 (RFC 6177 assigns a /48 to /64 per site), so
// counting full IPv6 addresses would give one attacker 2^64 fresh allowances; it is counted per /64.

/** The IPv4 address, the IPv6 address's /64 (`2001:db8:0:1::/64`), or `unknown` when there is none. */
export function clientAddress(headers: Headers): string {
  const raw = (headers.get("cf-connecting-ip") ?? "").trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(raw)?.[1];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(mapped ?? raw)) return mapped ?? raw;
  const groups = _expandIpv6(raw);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : "unknown";
}

/** The eight groups of an IPv6 address without leading zeros, or null when it is not one. */
function _expandIpv6(text: string): string[] | null {
  if (!/^[0-9a-f:]+$/.test(text) || text.length > 39) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((g) => g.length === 0 || g.length > 4)) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ""));
}
