// IP bytes → canonical text. IPv6 follows RFC 5952 §4: lowercase, no leading zeros, the longest run of
// two or more zero groups (the first on a tie) as "::"; IPv4-mapped addresses in mixed notation (§5),
// so a refusal shows `::ffff:10.0.0.5` and the person reading it sees the IPv4 address inside.
import { _checkIpBytes } from "./_check-ip-bytes.ts";

function _ip4(bytes: Uint8Array, from: number): string {
  return `${bytes[from]}.${bytes[from + 1]}.${bytes[from + 2]}.${bytes[from + 3]}`;
}

/** Canonical text of 4 (IPv4) or 16 (IPv6) bytes. */
export function formatIp(bytes: Uint8Array): string {
  _checkIpBytes(bytes, "format IP address");
  if (bytes.length === 4) return _ip4(bytes, 0);
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${_ip4(bytes, 12)}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
