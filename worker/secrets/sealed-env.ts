// Contract 4, the control plane's side: the env of one app as one host may receive it, for the workload
// frame. Every entry comes with its data key sealed to that host; a variable with no seal for the host
// yet makes the answer `{ missing }`, so the deploy can fail that host with what to run (a keeper re-seals
// it: `outpost env reseal`, which `outpost deploy` does by itself when it holds a keeper key).
// Only ciphertext passes through here; the control plane has no key that opens any of it.

import { and, eq } from "drizzle-orm";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { appEnv, envSeals } from "../../schema/db/tables.ts";
import type { TenantId } from "../../schema/ids.ts";
import { fromBase64Url } from "../../schema/protocol/base64.ts";
import type { HostId } from "../../schema/protocol/keys.ts";
import type { SealedEnvEntry } from "../../schema/secrets/index.ts";

export async function sealedEnvFor(
  db: LibSQLDatabase,
  q: { tenantId: TenantId; app: string; hostId: HostId },
): Promise<SealedEnvEntry[] | { missing: string[] }> {
  const rows = await db
    .select({
      name: appEnv.name,
      version: appEnv.version,
      ciphertext: appEnv.ciphertext,
      nonce: appEnv.nonce,
      sealedKey: envSeals.sealedKey,
    })
    .from(appEnv)
    .leftJoin(envSeals, and(eq(envSeals.entryId, appEnv.id), eq(envSeals.recipient, q.hostId)))
    .where(and(eq(appEnv.tenantId, q.tenantId), eq(appEnv.app, q.app)))
    .orderBy(appEnv.name);
  const missing = rows.filter((r) => r.sealedKey === null).map((r) => r.name);
  if (missing.length > 0) return { missing };
  return rows.map((r) => ({
    name: r.name,
    version: r.version,
    ciphertext: fromBase64Url(r.ciphertext),
    nonce: fromBase64Url(r.nonce),
    sealedKey: fromBase64Url(r.sealedKey as string),
  }));
}

/**
 * Why a host cannot run the app yet, and what to run: its env is not sealed to it, and the control
 * plane cannot seal it (it has no key that opens the values). Said to the API caller (409) and in a
 * rollout's per-host row.
 */
export function notSealedMessage(app: string, host: string, missing: readonly string[]): string {
  const names = missing.slice(0, 8).join(", ") + (missing.length > 8 ? `, … (${missing.length})` : "");
  return `the env of ${app} is not sealed to ${host} (${names}), so it was not started there; run 'outpost env reseal ${app} --host ${host}' where a keeper key of this tenant is (or deploy with the outpost CLI there, which re-seals first), then deploy again`;
}
