import type { Bindings } from "../../env.ts";

// The agent heartbeat interval the control plane announces in `ready`; liveness.ts marks a host
// offline after HEARTBEAT_MISSES silent intervals (schema/protocol/limits.ts).

/** Default interval between agent pings. */
const DEFAULT_HEARTBEAT_MS = 15_000;

/** HEARTBEAT_MS (a Worker var) lets local runs and tests notice a dead host sooner. */
export function heartbeatMs(env: Bindings): number {
  const n = Number(env.HEARTBEAT_MS);
  return Number.isInteger(n) && n >= 1000 && n <= 600_000 ? n : DEFAULT_HEARTBEAT_MS;
}
