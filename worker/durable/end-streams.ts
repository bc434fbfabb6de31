// Ending every live stream an actor opened (an API key, when it is revoked), on every host: as revoking
// a host ends its streams, revoking a key ends what the key started, so a leaked key stops at once
// rather than when its last stream ends by itself.
import { and, eq, isNull } from "drizzle-orm";
import { sessions } from "../../schema/db/tables.ts";
import type { TenantId } from "../../schema/ids.ts";
import type { Database } from "../db/database.ts";
import type { Bindings } from "../env.ts";
import { hostObject } from "./stubs.ts";

/**
 * Finds the hosts through the sessions table (open sessions of `actor`) and tells each HostDO to end
 * that actor's streams with `reason`. A stream whose session row is still being written (it opened in
 * the same instant) can be missed; the key check refuses every stream opened after the revocation.
 */
export async function endStreamsOf(
  env: Bindings,
  db: Database,
  tenantId: TenantId,
  actor: string,
  reason: string,
): Promise<void> {
  const open = await db
    .selectDistinct({ hostId: sessions.hostId })
    .from(sessions)
    .where(and(eq(sessions.tenantId, tenantId), eq(sessions.actor, actor), isNull(sessions.endedAt)));
  await Promise.all(open.map(({ hostId }) => hostObject(env, hostId).endStreams(actor, reason)));
}
