// What an address is. IPv6 forms that embed an IPv4 address are classified by that IPv4 address, so
// ::ffff:169.254.169.254 is "metadata"; the policy additionally refuses those forms outright.
import { _checkIpBytes } from "./_check-ip-bytes.ts";
import { _embeddedV4 } from "./_embedded-v4.ts";
import { _isGlobalUnicast, _specialRange } from "./_special-ranges.ts";
import type { IpKind } from "./types.ts";

/** The kind of 4 (IPv4) or 16 (IPv6) address bytes. */
export function classifyIp(bytes: Uint8Array): IpKind {
  _checkIpBytes(bytes, "classify IP address");
  const embedded = _embeddedV4(bytes);
  if (embedded !== undefined) return classifyIp(embedded.v4);
  const special = _specialRange(bytes);
  if (special !== undefined) return special.kind;
  // Outside 2000::/3 everything not in the table is unassigned (RFC 4291 §2.4).
  if (bytes.length === 16 && !_isGlobalUnicast(bytes)) return "reserved";
  return "public";
}
