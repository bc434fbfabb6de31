// Where a recording lives in the ARTIFACTS bucket: the finished asciicast at
// `recordings/<tenantId>/<sessionId>.cast`, its parts while the session runs under `uploads/` (R2 writes
// an object whole, and a multipart upload's parts must be ≥ 5 MiB but the last, which a terminal's
// output seldom reaches: so small objects as it happens, one object at the end).
import type { SessionId, TenantId } from "../../schema/ids.ts";

export function recordingKey(tenantId: TenantId, session: SessionId): string {
  return `recordings/${tenantId}/${session}.cast`;
}

export function partsPrefix(tenantId: TenantId, session: SessionId): string {
  return `uploads/recordings/${tenantId}/${session}/`;
}

/** Part `n`'s key; zero-padded so that a listing's order is the recording's. */
export function partKey(tenantId: TenantId, session: SessionId, n: number): string {
  return `${partsPrefix(tenantId, session)}${String(n).padStart(8, "0")}`;
}
