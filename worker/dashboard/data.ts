// What the dashboard's pages show, read straight from libSQL with the caller's tenant in every query
// (another tenant's host, session or exposure is simply not found).
import { and, asc, desc, eq, like, type SQL, sql } from "drizzle-orm";
import {
  auditEvents,
  clusters,
  exposures,
  hosts,
  services,
  sessions,
  sites,
} from "../../schema/db/tables.ts";
import type { TenantId } from "../../schema/ids.ts";
import { LABEL_KEY_PATTERN } from "../../schema/names.ts";
import type { Database } from "../db/database.ts";
import { resolveHost } from "../db/resolve.ts";

export interface HostFilter {
  q?: string | undefined;
  cluster?: string | undefined;
  site?: string | undefined;
  label?: string | undefined;
}

/** The filter from a query string, each value bounded; a malformed label filter is ignored. */
export function hostFilter(query: Record<string, string | undefined>): HostFilter {
  const pick = (k: string) => {
    const v = query[k]?.trim();
    return v ? v.slice(0, 200) : undefined;
  };
  const label = pick("label");
  const labelOk = label && /^[^=]+=.*$/.test(label) && LABEL_KEY_PATTERN.test(label.split("=")[0]!);
  return { q: pick("q"), cluster: pick("cluster"), site: pick("site"), label: labelOk ? label : undefined };
}

/** A host row as the hosts table shows it (and as /hosts.json returns it for the live refresh). */
export interface HostRow {
  fqdn: string;
  name: string;
  cluster: string;
  site: string;
  status: string;
  hostname: string;
  labels: Record<string, string>;
  lastSeenAt: string | null;
  runtime: string | null;
}

function factText(facts: Record<string, unknown>, key: string): string {
  const v = facts[key];
  return typeof v === "string" ? v : "";
}

export async function listHosts(db: Database, tenantId: TenantId, f: HostFilter): Promise<HostRow[]> {
  const where: SQL[] = [eq(hosts.tenantId, tenantId)];
  if (f.cluster) where.push(eq(clusters.name, f.cluster));
  if (f.site) where.push(eq(sites.name, f.site));
  if (f.q) where.push(like(hosts.name, `%${f.q.replace(/[%_\\]/g, (m) => `\\${m}`)}%`));
  if (f.label) {
    const [k, ...v] = f.label.split("=");
    where.push(sql`json_extract(${hosts.labels}, ${`$."${k}"`}) = ${v.join("=")}`);
  }
  const rows = await db
    .select({ host: hosts, cluster: clusters.name, site: sites.name })
    .from(hosts)
    .innerJoin(clusters, eq(hosts.clusterId, clusters.id))
    .innerJoin(sites, eq(hosts.siteId, sites.id))
    .where(and(...where))
    .orderBy(asc(clusters.name), asc(hosts.name))
    .limit(500);
  return rows.map(({ host, cluster, site }) => ({
    fqdn: `${host.name}.${cluster}`,
    name: host.name,
    cluster,
    site: `${cluster}/${site}`,
    status: host.revokedAt ? "revoked" : host.status,
    hostname: factText(host.facts, "hostname"),
    labels: host.labels,
    lastSeenAt: host.lastSeenAt?.toISOString() ?? null,
    runtime: host.runtime,
  }));
}

/** One host with its services and latest sessions; throws ApiError 404 for an unknown host. */
export async function hostDetail(db: Database, tenantId: TenantId, ref: string) {
  const host = await resolveHost(db, tenantId, ref);
  const [placed] = await db
    .select({ cluster: clusters.name, site: sites.name })
    .from(clusters)
    .innerJoin(sites, eq(sites.id, host.siteId))
    .where(eq(clusters.id, host.clusterId));
  const [svc, recent] = await db.batch([
    db.select().from(services).where(eq(services.hostId, host.id)).orderBy(asc(services.name)),
    db
      .select()
      .from(sessions)
      .where(and(eq(sessions.tenantId, tenantId), eq(sessions.hostId, host.id)))
      .orderBy(desc(sessions.startedAt))
      .limit(50),
  ]);
  const cluster = placed?.cluster ?? "?";
  return {
    host,
    fqdn: `${host.name}.${cluster}`,
    site: `${cluster}/${placed?.site ?? "?"}`,
    services: svc,
    sessions: recent,
  };
}

export async function listExposures(db: Database, tenantId: TenantId) {
  return db
    .select({ exposure: exposures, host: hosts.name, cluster: clusters.name })
    .from(exposures)
    .innerJoin(hosts, eq(hosts.id, exposures.hostId))
    .innerJoin(clusters, eq(clusters.id, hosts.clusterId))
    .where(eq(exposures.tenantId, tenantId))
    .orderBy(asc(exposures.name))
    .limit(500);
}

export async function listAudit(db: Database, tenantId: TenantId) {
  return db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.tenantId, tenantId))
    .orderBy(desc(auditEvents.id))
    .limit(200);
}

/** A session of the tenant, or undefined. */
export async function findSession(db: Database, tenantId: TenantId, id: string) {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.tenantId, tenantId), eq(sessions.id, id as never)))
    .limit(1);
  return row;
}
