// What the dashboard's pages show, read straight from libSQL with the caller's tenant in every query
// (another tenant's host, session or exposure is simply not found).
import { and, asc, desc, eq, inArray, like, type SQL, sql } from "drizzle-orm";
import {
  apps,
  auditEvents,
  clusters,
  exposures,
  hosts,
  instances,
  jobHosts,
  jobs,
  services,
  sessions,
  sites,
  vms,
} from "../../schema/db/tables.ts";
import type { TenantId } from "../../schema/ids.ts";
import { LABEL_KEY_PATTERN } from "../../schema/names.ts";
import type { Database } from "../db/database.ts";
import { actorIds, actorView, nameIds, targetName } from "../db/names.ts";
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

/** An app on a host as its section shows it: desired and observed state, the agent's last word. */
interface HostApp {
  app: string;
  desired: string;
  release: number;
  live: number | null;
  status: string;
  health: string | null;
  restarts: number;
  message: string | null;
  observedAt: Date | null;
}

/** A VM on a host as its section shows it: what was asked, what the agent last said. */
interface HostVm {
  name: string;
  image: string;
  desired: string;
  state: string;
  cpus: number;
  memoryMib: number;
  ports: number[];
  /** The guest's address on the host's --vm-bridge, as its agent reported it (a checked IPv4). */
  address: string | null;
  message: string | null;
  observedAt: Date | null;
}

/** A job's run on a host: its steps, state, last exit and the tails of its output (as text). */
interface HostJob {
  id: string;
  steps: string[][];
  state: string;
  exitCode: number | null;
  createdBy: string;
  createdAt: Date;
  stdout: string;
  stderr: string;
}

/** Observed instances as the agent reported them (checked on the wire, kept as data). */
interface Observed {
  release: number;
  state: string;
  restarts: number;
  health?: string;
}

function _tail(b64: string | null): string {
  if (!b64) return "";
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * One host with its services, latest sessions, apps and jobs; throws ApiError 404 for an unknown
 * host. Everything is read for the caller's tenant and this host only.
 */
export async function hostDetail(db: Database, tenantId: TenantId, ref: string) {
  const host = await resolveHost(db, tenantId, ref);
  const [placed] = await db
    .select({ cluster: clusters.name, site: sites.name })
    .from(clusters)
    .innerJoin(sites, eq(sites.id, host.siteId))
    .where(eq(clusters.id, host.clusterId));
  const [svc, recent, appRows, jobRows, vmRows] = await db.batch([
    db.select().from(services).where(eq(services.hostId, host.id)).orderBy(asc(services.name)),
    db
      .select()
      .from(sessions)
      .where(and(eq(sessions.tenantId, tenantId), eq(sessions.hostId, host.id)))
      .orderBy(desc(sessions.startedAt))
      .limit(50),
    db
      .select({ inst: instances, app: apps.name })
      .from(instances)
      .innerJoin(apps, eq(apps.id, instances.appId))
      .where(and(eq(instances.tenantId, tenantId), eq(instances.hostId, host.id)))
      .orderBy(asc(apps.name)),
    db
      .select({ job: jobs, run: jobHosts })
      .from(jobHosts)
      .innerJoin(jobs, eq(jobs.id, jobHosts.jobId))
      .where(and(eq(jobs.tenantId, tenantId), eq(jobHosts.hostId, host.id)))
      .orderBy(desc(jobs.createdAt))
      .limit(50),
    db
      .select()
      .from(vms)
      .where(and(eq(vms.tenantId, tenantId), eq(vms.hostId, host.id)))
      .orderBy(asc(vms.name)),
  ]);
  const cluster = placed?.cluster ?? "?";
  const hostApps: HostApp[] = appRows.map(({ inst, app }) => {
    const live = (inst.observed as unknown as Observed[]).find((i) => i.release === inst.liveRelease);
    return {
      app,
      desired: inst.desired,
      release: inst.release,
      live: inst.liveRelease,
      status: live?.state ?? (inst.desired === "running" ? "pending" : inst.desired),
      health: typeof live?.health === "string" ? live.health : null,
      restarts: live?.restarts ?? 0,
      message: inst.message,
      observedAt: inst.observedAt,
    };
  });
  const names = await nameIds(db, tenantId, [
    ...jobRows.flatMap(({ job }) => actorIds(job.createdBy)),
    ...recent.flatMap((s) => actorIds(s.actor)),
  ]);
  // Which of these execs were recorded (`exec --record`): their audit events say so.
  const execs = recent.filter((s) => s.kind === "exec").map((s) => s.id as string);
  const recorded = new Set(
    execs.length
      ? (
          await db
            .select({ session: sql<string>`json_extract(${auditEvents.details}, '$.session')` })
            .from(auditEvents)
            .where(
              and(
                eq(auditEvents.tenantId, tenantId),
                eq(auditEvents.action, "host.exec"),
                sql`json_extract(${auditEvents.details}, '$.recorded') = 1`,
                inArray(sql`json_extract(${auditEvents.details}, '$.session')`, execs),
              ),
            )
        ).map((r) => r.session)
      : [],
  );
  const hostJobs: HostJob[] = jobRows.map(({ job, run }) => ({
    id: job.id,
    steps: job.steps,
    // As the jobs API shows it: a queued run of a cancelled or expired job is that.
    state:
      run.state === "queued" && job.cancelledAt
        ? "cancelled"
        : run.state === "queued" && job.expiresAt.getTime() <= Date.now()
          ? "expired"
          : run.state,
    exitCode: run.exitCode,
    createdBy: actorView(job.createdBy, names).name,
    createdAt: job.createdAt,
    stdout: _tail(run.stdoutTail),
    stderr: _tail(run.stderrTail),
  }));
  return {
    host,
    fqdn: `${host.name}.${cluster}`,
    site: `${cluster}/${placed?.site ?? "?"}`,
    services: svc,
    sessions: recent.map((s) => ({
      ...s,
      by: actorView(s.actor, names).name,
      recorded: s.kind === "pty" || recorded.has(s.id),
    })),
    apps: hostApps,
    jobs: hostJobs,
    vms: vmRows.map(
      (v): HostVm => ({
        name: v.name,
        image: v.image,
        desired: v.desired,
        // Not yet reported: what was asked is all there is to show.
        state: v.state ?? (v.desired === "running" ? "created" : v.desired),
        cpus: v.cpus,
        memoryMib: v.memoryMib,
        ports: v.ports,
        address: (v.observed as { address?: string } | null)?.address ?? null,
        message: v.message,
        observedAt: v.observedAt,
      }),
    ),
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

/** Removes the tenant's exposure `name`: its id, or undefined when the tenant has none of that name. */
export async function removeExposure(db: Database, tenantId: TenantId, name: string) {
  const [row] = await db
    .delete(exposures)
    .where(and(eq(exposures.tenantId, tenantId), eq(exposures.name, name)))
    .returning({ id: exposures.id });
  return row;
}

/** The tenant's latest audit events, actors and targets named (names.ts), newest first. */
export async function listAudit(db: Database, tenantId: TenantId) {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.tenantId, tenantId))
    .orderBy(desc(auditEvents.id))
    .limit(200);
  const names = await nameIds(
    db,
    tenantId,
    rows.flatMap((e) => [...actorIds(e.actor), ...(e.target ? [e.target, ...actorIds(e.target)] : [])]),
  );
  return rows.map((e) => ({
    ...e,
    by: actorView(e.actor, names).name,
    targetName: targetName(e.target, names, e.details) ?? e.target,
    session: typeof e.details.session === "string" ? e.details.session : null,
    recorded: e.details.recorded === true,
  }));
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
