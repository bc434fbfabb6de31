// Names for the ids that listings carry (sessions, audit events, mesh routes, tokens): people think in
// `web01.prod` and key names, rows hold `host_…` and `key:key_…`. Resolved here, in the route, so the
// SDK gets them too, in at most one batch of IN queries per listing, never one query per row. Every
// query keeps to the caller's tenant: an id of another tenant's (an audit target could be anything)
// stays unnamed, so no listing says what another tenant calls its things.
import { and, eq, inArray } from "drizzle-orm";
import { apiKeys, clusters, hosts, sites } from "../../schema/db/tables.ts";
import { isId, type TenantId } from "../../schema/ids.ts";
import { isHostId } from "../../schema/protocol/keys.ts";
import type { Database } from "./database.ts";

/** Who did something, as listings show it: `{ kind: "key", id: "key_…", name: "ci" }`. */
export interface ActorView {
  /** `key`, `host` (a mesh route's agent), `link`, `public`, `address`, or the actor as written. */
  kind: string;
  id: string | null;
  /** The key's name, the host as `<host>.<cluster>`, the exposure's name; the id when it is gone. */
  name: string;
}

/** id → name for the ids given (host, key, cluster and site ids; other strings are ignored). */
export async function nameIds(
  db: Database,
  tenantId: TenantId,
  ids: Iterable<string | null | undefined>,
): Promise<Map<string, string>> {
  const by = {
    host: new Set<string>(),
    key: new Set<string>(),
    cl: new Set<string>(),
    site: new Set<string>(),
  };
  for (const id of ids) {
    if (!id) continue;
    if (isHostId(id)) by.host.add(id);
    else if (isId("apiKey", id)) by.key.add(id);
    else if (isId("cluster", id)) by.cl.add(id);
    else if (isId("site", id)) by.site.add(id);
  }
  const none = Promise.resolve([] as Array<{ id: string; name: string }>);
  const [hostRows, keyRows, clusterRows, siteRows] = await Promise.all([
    by.host.size
      ? db
          .select({ id: hosts.id, host: hosts.name, cluster: clusters.name })
          .from(hosts)
          .innerJoin(clusters, eq(hosts.clusterId, clusters.id))
          .where(and(eq(hosts.tenantId, tenantId), inArray(hosts.id, [...by.host] as HostRow["id"][])))
          .then((rows) => rows.map((r) => ({ id: r.id as string, name: `${r.host}.${r.cluster}` })))
      : none,
    by.key.size
      ? db
          .select({ id: apiKeys.id, name: apiKeys.name })
          .from(apiKeys)
          .where(and(eq(apiKeys.tenantId, tenantId), inArray(apiKeys.id, [...by.key] as KeyRow["id"][])))
      : none,
    by.cl.size
      ? db
          .select({ id: clusters.id, name: clusters.name })
          .from(clusters)
          .where(and(eq(clusters.tenantId, tenantId), inArray(clusters.id, [...by.cl] as ClusterRow["id"][])))
      : none,
    by.site.size
      ? db
          .select({ id: sites.id, site: sites.name, cluster: clusters.name })
          .from(sites)
          .innerJoin(clusters, eq(sites.clusterId, clusters.id))
          .where(and(eq(sites.tenantId, tenantId), inArray(sites.id, [...by.site] as SiteRow["id"][])))
          .then((rows) => rows.map((r) => ({ id: r.id as string, name: `${r.cluster}/${r.site}` })))
      : none,
  ]);
  const names = new Map<string, string>();
  for (const r of [...hostRows, ...keyRows, ...clusterRows, ...siteRows]) names.set(r.id, r.name);
  return names;
}

type HostRow = typeof hosts.$inferSelect;
type KeyRow = typeof apiKeys.$inferSelect;
type ClusterRow = typeof clusters.$inferSelect;
type SiteRow = typeof sites.$inferSelect;

/** The ids an actor string (`key:key_…`, `host:host_…`) refers to, for nameIds. */
export function actorIds(actor: string): string[] {
  const colon = actor.indexOf(":");
  return colon > 0 ? [actor.slice(colon + 1)] : [];
}

/** An actor string as listings show it, named from nameIds' map. */
export function actorView(actor: string, names: Map<string, string>): ActorView {
  const colon = actor.indexOf(":");
  if (colon <= 0) return { kind: actor, id: null, name: actor };
  const kind = actor.slice(0, colon);
  const rest = actor.slice(colon + 1);
  if (kind === "key" || kind === "host") return { kind, id: rest, name: names.get(rest) ?? rest };
  // link:<exposure>, public:<exposure>, address:<ip>, token:<id>, exposure:<name>: the rest is the name.
  return { kind, id: null, name: rest };
}

/**
 * An audit target (an id, `key:<id>`, `exposure:<name>`, a name) as a name where one is known: from
 * nameIds' map, else the name the event recorded in its details (a deleted host's, a revoked key's).
 */
export function targetName(
  target: string | null,
  names: Map<string, string>,
  details: Record<string, unknown> = {},
): string | null {
  if (!target) return null;
  const colon = target.indexOf(":");
  const id = colon > 0 ? target.slice(colon + 1) : target;
  const recorded = typeof details.name === "string" ? details.name : null;
  return names.get(id) ?? recorded;
}
