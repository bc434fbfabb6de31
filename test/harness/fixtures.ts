// Rows the API has no route to create directly (hosts come from enrollment), written straight into the
// test's real libSQL database.
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { hosts } from "../../schema/db/tables.ts";
import { parseId } from "../../schema/ids.ts";
import { newHostId, parseHostKey } from "../../schema/protocol/keys.ts";

export async function insertHost(
  dbUrl: string,
  row: {
    tenantId: string;
    clusterId: string;
    siteId: string;
    name: string;
    labels?: Record<string, string>;
    status?: "online" | "offline" | "pending";
    /** `hostkey:…`; default a placeholder no agent holds. */
    publicKey?: string;
  },
): Promise<string> {
  const client = createClient({ url: dbUrl });
  try {
    const id = newHostId();
    await drizzle(client)
      .insert(hosts)
      .values({
        ...row,
        id,
        tenantId: parseId("tenant", row.tenantId),
        clusterId: parseId("cluster", row.clusterId),
        siteId: parseId("site", row.siteId),
        publicKey: parseHostKey(row.publicKey ?? `hostkey:${"A".repeat(43)}`),
        labels: row.labels ?? {},
        status: row.status ?? "pending",
      });
    return id;
  } finally {
    client.close();
  }
}
