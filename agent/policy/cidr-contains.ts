// Network membership by prefix bits. An IPv4 address is never in an IPv6 network nor the other way
// round: IPv4-mapped IPv6 addresses are refused before any CIDR is consulted, not matched against
// IPv4 networks.
import { _checkIpBytes } from "./_check-ip-bytes.ts";
import type { Cidr } from "./parse-cidr.ts";

/** Whether `ip` (4 or 16 bytes) is inside `cidr`. */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  _checkIpBytes(ip, "test CIDR membership");
  const network = cidr?.network;
  _checkIpBytes(network, "test CIDR membership");
  const prefix = cidr.prefix;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > network.length * 8) {
    throw new TypeError(`Cannot test CIDR membership: prefix ${prefix} is not 0..${network.length * 8}`);
  }
  if (ip.length !== network.length) return false;
  for (let i = 0; i < network.length && 8 * i < prefix; i++) {
    const bits = Math.min(8, prefix - 8 * i);
    const mask = (0xff << (8 - bits)) & 0xff;
    if (((ip[i]! ^ network[i]!) & mask) !== 0) return false;
  }
  return true;
}
