// An API-added service written with an IP address: one address, checked once.
import { _checkAddress, _refusedAddress } from "./_check-address.ts";
import { parseIp } from "./parse-ip.ts";
import type { Target } from "./parse-target.ts";
import type { Decision, PolicyConfig } from "./types.ts";

/** The decision for `target` (with `isIp`), whose host is canonical IP text from _readTarget. */
export function _checkIpTarget(target: Target, policy: PolicyConfig): Decision {
  const refusal = _checkAddress(parseIp(target.host), policy);
  if (refusal !== undefined) return { ok: false, reason: _refusedAddress(refusal) };
  return { ok: true, address: target.host, port: target.port };
}
