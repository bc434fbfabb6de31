// Looking up a tenant's resources by id or by name. Every query carries the caller's tenant id, so
// another tenant's resource is simply "not found" (404): its existence is never disclosed.
import { and, eq } from "drizzle-orm";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { clusters, hosts, sites } from "../../schema/db/tables.ts";
import { isId } from "../../schema/ids.ts";
import { ApiError } from "../http/api-error.ts";

export async function resolveCluster(db: LibSQLDatabase, tenantId: string, ref: string) {
  const by = isId("cluster", ref) ? eq(clusters.id, ref) : eq(clusters.name, ref);
  const [row] = await db
    .select()
    .from(clusters)
    .where(and(eq(clusters.tenantId, tenantId), by))
    .limit(1);
  if (!row) throw ApiError.notFound(`cluster '${ref}'`);
  return row;
}

export async function resolveSite(db: LibSQLDatabase, tenantId: string, clusterRef: string, siteRef: string) {
  const cluster = await resolveCluster(db, tenantId, clusterRef);
  const by = isId("site", siteRef) ? eq(sites.id, siteRef) : eq(sites.name, siteRef);
  const [site] = await db
    .select()
    .from(sites)
    .where(and(eq(sites.tenantId, tenantId), eq(sites.clusterId, cluster.id), by))
    .limit(1);
  if (!site) throw ApiError.notFound(`site '${cluster.name}/${siteRef}'`);
  return { cluster, site };
}

/** A host is named by its id (`host_…`) or as `<host>.<cluster>`. */
export async function resolveHost(db: LibSQLDatabase, tenantId: string, ref: string) {
  if (isId("host", ref)) {
    const [row] = await db
      .select()
      .from(hosts)
      .where(and(eq(hosts.tenantId, tenantId), eq(hosts.id, ref)))
      .limit(1);
    if (!row) throw ApiError.notFound(`host '${ref}'`);
    return row;
  }
  const dot = ref.indexOf(".");
  if (dot <= 0) throw ApiError.badRequest(`host: '${ref}' is neither a host id nor <host>.<cluster>`);
  // One round trip: exec and streams resolve a host on every call.
  const [found] = await db
    .select({ host: hosts })
    .from(hosts)
    .innerJoin(clusters, eq(hosts.clusterId, clusters.id))
    .where(
      and(
        eq(hosts.tenantId, tenantId),
        eq(clusters.name, ref.slice(dot + 1)),
        eq(hosts.name, ref.slice(0, dot)),
      ),
    )
    .limit(1);
  const row = found?.host;
  if (!row) throw ApiError.notFound(`host '${ref}'`);
  return row;
}
