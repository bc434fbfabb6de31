// Input check at the policy's boundary (noble style): a wrong shape from a caller is a bug in the
// agent, so it throws TypeError instead of turning into a decision.
import type { PolicyConfig } from "./types.ts";

/** Throws unless `policy` has a boolean allowLoopback and an array allowNets of parsed CIDRs. */
export function _checkPolicy(policy: unknown, doing: string): asserts policy is PolicyConfig {
  const p = policy as Partial<PolicyConfig> | null;
  if (typeof p !== "object" || p === null || typeof p.allowLoopback !== "boolean") {
    throw new TypeError(`Cannot ${doing}: policy.allowLoopback must be a boolean`);
  }
  if (!Array.isArray(p.allowNets)) {
    throw new TypeError(`Cannot ${doing}: policy.allowNets must be an array of CIDRs from parseCidr`);
  }
  for (const c of p.allowNets) {
    if (typeof c !== "object" || c === null || !(c.network instanceof Uint8Array)) {
      throw new TypeError(`Cannot ${doing}: policy.allowNets must be an array of CIDRs from parseCidr`);
    }
  }
}
