// Looking up a tenant's resources by id or by name. Every query carries the caller's tenant id, so
// another tenant's resource is simply "not found" (404): its existence is never disclosed.
import { and, eq, inArray, type SQL } from "drizzle-orm";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { apiKeys, clusters, hosts, sites } from "../../schema/db/tables.ts";
import { isId, type TenantId } from "../../schema/ids.ts";
import { isHostId } from "../../schema/protocol/keys.ts";
import { ApiError } from "../http/api-error.ts";

export async function resolveCluster(db: LibSQLDatabase, tenantId: TenantId, ref: string) {
  const by = isId("cluster", ref) ? eq(clusters.id, ref) : eq(clusters.name, ref);
  const [row] = await db
    .select()
    .from(clusters)
    .where(and(eq(clusters.tenantId, tenantId), by))
    .limit(1);
  if (!row) throw ApiError.notFound(`cluster '${ref}'`);
  return row;
}

export async function resolveSite(
  db: LibSQLDatabase,
  tenantId: TenantId,
  clusterRef: string,
  siteRef: string,
) {
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
export async function resolveHost(db: LibSQLDatabase, tenantId: TenantId, ref: string) {
  // One round trip: exec and streams resolve a host on every call.
  const [found] = await _hostQuery(db, eq(hosts.tenantId, tenantId), ref);
  const row = found?.host;
  if (!row) throw ApiError.notFound(`host '${ref}'`);
  return row;
}

/**
 * resolveHost's query among the hosts of the tenant whose API key has `keyPrefix`, for a batch with
 * the key's own lookup (worker/routes/host-streams.ts). Its row is for use only once that key is
 * checked. Throws ApiError 400 at once when `ref` is not a host reference.
 */
export function hostOfKeyQuery(db: LibSQLDatabase, keyPrefix: string, ref: string) {
  const ofKey = db.select({ tenantId: apiKeys.tenantId }).from(apiKeys).where(eq(apiKeys.prefix, keyPrefix));
  return _hostQuery(db, inArray(hosts.tenantId, ofKey), ref);
}

function _hostQuery(db: LibSQLDatabase, tenant: SQL, ref: string) {
  if (isHostId(ref)) {
    return db
      .select({ host: hosts })
      .from(hosts)
      .where(and(tenant, eq(hosts.id, ref)))
      .limit(1);
  }
  const dot = ref.indexOf(".");
  if (dot <= 0) throw ApiError.badRequest(`host: '${ref}' is neither a host id nor <host>.<cluster>`);
  return db
    .select({ host: hosts })
    .from(hosts)
    .innerJoin(clusters, eq(hosts.clusterId, clusters.id))
    .where(and(tenant, eq(clusters.name, ref.slice(dot + 1)), eq(hosts.name, ref.slice(0, dot))))
    .limit(1);
}
