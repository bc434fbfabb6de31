// When the control plane adds a service, its target is checked at once so that a bad one is refused
// while someone is looking. IP targets get their final answer here; names only their syntax, because
// what a name resolves to is decided at each connect (see _resolve-name.ts).
import { _barePort } from "./_bare-port.ts";
import { _checkIpTarget } from "./_check-ip-target.ts";
import { _checkPolicy } from "./_check-policy.ts";
import { _isPortLike } from "./_port.ts";
import { _readTarget } from "./parse-target.ts";
import type { Decision, PolicyConfig } from "./types.ts";

/** Validate an API-added service target when it is added (static checks; names re-checked at connect). */
export function checkApiServiceTarget(
  target: string,
  policy: PolicyConfig,
): Decision | { ok: true; deferred: true } {
  if (typeof target !== "string") {
    throw new TypeError(`Cannot check service target: expected a string, got ${typeof target}`);
  }
  _checkPolicy(policy, "check service target");
  if (_isPortLike(target)) return _barePort(target, policy);
  const read = _readTarget(target);
  if ("why" in read) return { ok: false, reason: `refused: ${read.why}` };
  if (!read.target.isIp) return { ok: true, deferred: true };
  return _checkIpTarget(read.target, policy);
}
