// Which hosts may fetch which artifacts. A deployment that targets a host grants it the deployment's
// artifact (i13-apps calls grantArtifact); the fetch route (routes/agent-artifacts.ts) serves a host
// only what it was granted, authenticated by the host's own key (schema/protocol/artifact-fetch.ts).
import { and, eq, isNull, sql } from "drizzle-orm";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { artifactGrants, artifacts, hosts } from "../../schema/db/tables.ts";
import type { TenantId } from "../../schema/ids.ts";
import type { HostId } from "../../schema/protocol/keys.ts";
import { ApiError } from "../http/api-error.ts";

export interface ArtifactGrant {
  tenantId: TenantId;
  hostId: HostId;
  sha256: string;
}

/**
 * Lets `hostId` fetch the artifact `sha256`. Both must be the tenant's (a host or artifact of another
 * tenant is "not found", ApiError 404); granting twice is harmless.
 */
export async function grantArtifact(db: LibSQLDatabase, grant: ArtifactGrant): Promise<void> {
  // One statement: the insert happens only when the tenant has both the host and the artifact.
  const inserted = await db
    .insert(artifactGrants)
    .select(
      db
        .select({
          tenantId: hosts.tenantId,
          hostId: hosts.id,
          sha256: artifacts.sha256,
          lastFetchAt: sql<number>`0`.as("last_fetch_at"),
          createdAt: sql<Date>`(unixepoch('subsec') * 1000)`.as("created_at"),
        })
        .from(hosts)
        .innerJoin(artifacts, and(eq(artifacts.tenantId, hosts.tenantId), eq(artifacts.sha256, grant.sha256)))
        .where(and(eq(hosts.id, grant.hostId), eq(hosts.tenantId, grant.tenantId), isNull(hosts.revokedAt))),
    )
    .onConflictDoNothing()
    .returning({ hostId: artifactGrants.hostId });
  if (inserted.length > 0) return;
  const [existing] = await db
    .select({ hostId: artifactGrants.hostId })
    .from(artifactGrants)
    .where(
      and(
        eq(artifactGrants.tenantId, grant.tenantId),
        eq(artifactGrants.hostId, grant.hostId),
        eq(artifactGrants.sha256, grant.sha256),
      ),
    );
  if (!existing) throw ApiError.notFound(`artifact ${grant.sha256.slice(0, 12)} or host '${grant.hostId}'`);
}
