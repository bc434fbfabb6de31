// Queued jobs: POST /v1/jobs (operator) chooses the cluster's hosts by selector now and queues the
// job for each; every host's HostDO delivers it when its agent is (or next is) connected, until the
// job's TTL (job-delivery.ts). GET /v1/jobs, GET /v1/jobs/:id, GET /v1/jobs/:id/logs?host=,
// POST /v1/jobs/:id/cancel. Another tenant's job is 404, like everything else.
import { and, desc, eq, inArray, lt, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { clusters, hosts, jobHosts, jobs, sites } from "../../schema/db/tables.ts";
import { isId, type JobId, newId, type TenantId } from "../../schema/ids.ts";
import { MAX_JOB_STEPS } from "../../schema/protocol/limits.ts";
import { formatSelector, MAX_SELECTOR_LENGTH, matchesSelector } from "../../schema/selectors.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import type { Database } from "../db/database.ts";
import { resolveCluster } from "../db/resolve.ts";
import { hostObject } from "../durable/stubs.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { duration, name, pageQuery, ref } from "../http/fields.ts";
import { selectorParam } from "../http/selector.ts";
import { valid } from "../http/validate.ts";

const HOUR = 3_600_000;
/** Longest a job waits for its hosts. */
const MAX_JOB_TTL_MS = 7 * 24 * HOUR;

const argvItem = z
  .string()
  .max(64 * 1024)
  .refine((s) => !s.includes("\0"), { error: "may not contain NUL" });
const jobCreate = z
  .object({
    cluster: ref,
    selector: z.string().max(MAX_SELECTOR_LENGTH).optional(),
    site: name.optional(),
    steps: z
      .array(z.array(argvItem).min(1, { error: "a step needs at least its program" }).max(4096))
      .min(1)
      .max(MAX_JOB_STEPS),
    ttl: duration(60_000, MAX_JOB_TTL_MS, "at most 7d").optional(),
    timeout: duration(1000, 2 ** 31 - 1, "at most 24d").optional(),
    includeNew: z.boolean().optional(),
  })
  .strict();

type JobRow = typeof jobs.$inferSelect;
type JobHostRow = typeof jobHosts.$inferSelect;

/** A host's state as shown: `expired` when it never ran and the TTL passed. */
function shownState(row: Pick<JobHostRow, "state">, job: Pick<JobRow, "expiresAt" | "cancelledAt">) {
  if (row.state === "queued" && job.cancelledAt) return "cancelled";
  if (row.state === "queued" && job.expiresAt.getTime() <= Date.now()) return "expired";
  return row.state;
}

function presentJob(job: JobRow, cluster: string) {
  return {
    id: job.id,
    cluster,
    selector: job.selector,
    site: job.site,
    steps: job.steps,
    includeNew: job.includeNew,
    createdBy: job.createdBy,
    createdAt: job.createdAt,
    expiresAt: job.expiresAt,
    cancelledAt: job.cancelledAt,
  };
}

async function findJob(db: Database, tenantId: TenantId, id: string) {
  if (!isId("job", id)) throw ApiError.notFound(`job '${id}'`);
  const [row] = await db
    .select({ job: jobs, cluster: clusters.name })
    .from(jobs)
    .innerJoin(clusters, eq(jobs.clusterId, clusters.id))
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.id, id)));
  if (!row) throw ApiError.notFound(`job '${id}'`);
  return row;
}

async function hostRows(db: Database, job: JobRow, cluster: string, host?: string) {
  const rows = await db
    .select({ run: jobHosts, name: hosts.name })
    .from(jobHosts)
    .innerJoin(hosts, eq(jobHosts.hostId, hosts.id))
    .where(eq(jobHosts.jobId, job.id))
    .orderBy(hosts.name);
  const out = rows.map((r) => ({ ...r, fqdn: `${r.name}.${cluster}` }));
  if (host === undefined) return out;
  const mine = out.filter((r) => r.fqdn === host || r.run.hostId === host);
  if (mine.length === 0) throw ApiError.notFound(`host '${host}' in job ${job.id}`);
  return mine;
}

export const jobRoutes = new Hono<AppEnv>()
  .post("/", requireRole("operator"), valid("json", jobCreate), async (c) => {
    const caller = c.var.caller;
    const body = c.req.valid("json");
    const db = c.var.db;
    const selector = selectorParam(body.selector);
    const cluster = await resolveCluster(db, caller.tenantId, body.cluster);
    const where: SQL[] = [eq(hosts.tenantId, caller.tenantId), eq(hosts.clusterId, cluster.id)];
    if (body.site) where.push(eq(sites.name, body.site));
    const candidates = await db
      .select({ id: hosts.id, labels: hosts.labels, revokedAt: hosts.revokedAt })
      .from(hosts)
      .innerJoin(sites, eq(hosts.siteId, sites.id))
      .where(and(...where));
    const chosen = candidates.filter((h) => !h.revokedAt && matchesSelector(selector, h.labels));
    const shown = formatSelector(selector);
    if (chosen.length === 0 && !body.includeNew) {
      throw new ApiError(
        404,
        "no_hosts",
        `no host in cluster '${cluster.name}' matches ${shown ? `'${shown}'` : "(every host)"}; --include-new queues it for hosts that enroll later`,
      );
    }
    const id = newId("job");
    const now = Date.now();
    const job = {
      id,
      tenantId: caller.tenantId,
      clusterId: cluster.id,
      selector: shown,
      site: body.site ?? null,
      steps: body.steps,
      timeoutMs: body.timeout ?? null,
      includeNew: body.includeNew ?? false,
      createdBy: caller.actor,
      createdAt: new Date(now),
      expiresAt: new Date(now + (body.ttl ?? 24 * HOUR)),
    };
    await db.batch([
      db.insert(jobs).values(job),
      ...(chosen.length
        ? [db.insert(jobHosts).values(chosen.map((h) => ({ jobId: id, hostId: h.id })))]
        : []),
    ]);
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "job.run",
      target: id,
      outcome: "allowed",
      details: {
        cluster: cluster.name,
        selector: shown,
        steps: body.steps,
        hosts: chosen.length,
        includeNew: job.includeNew,
      },
    });
    // Online hosts get it now; the others when they connect (HostDO ready).
    c.executionCtx.waitUntil(
      Promise.allSettled(chosen.map((h) => hostObject(c.env, h.id).deliverJobs())).then(() => {}),
    );
    return c.json(
      { job: presentJob({ ...job, cancelledAt: null }, cluster.name), hosts: chosen.length },
      201,
    );
  })
  .get("/", valid("query", pageQuery), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const where: SQL[] = [eq(jobs.tenantId, c.var.caller.tenantId)];
    if (cursor) where.push(lt(jobs.createdAt, new Date(cursor)));
    const rows = await c.var.db
      .select({ job: jobs, cluster: clusters.name })
      .from(jobs)
      .innerJoin(clusters, eq(jobs.clusterId, clusters.id))
      .where(and(...where))
      .orderBy(desc(jobs.createdAt))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const ids = page.map((r) => r.job.id);
    const runs = ids.length ? await c.var.db.select().from(jobHosts).where(inArray(jobHosts.jobId, ids)) : [];
    return c.json({
      jobs: page.map((r) => {
        const counts: Record<string, number> = {};
        for (const run of runs.filter((x) => x.jobId === r.job.id)) {
          const s = shownState(run, r.job);
          counts[s] = (counts[s] ?? 0) + 1;
        }
        return { ...presentJob(r.job, r.cluster), states: counts };
      }),
      nextCursor: rows.length > limit ? String(page[page.length - 1]!.job.createdAt.getTime()) : null,
    });
  })
  .get("/:id", async (c) => {
    const { job, cluster } = await findJob(c.var.db, c.var.caller.tenantId, c.req.param("id"));
    const rows = await hostRows(c.var.db, job, cluster);
    return c.json({
      job: presentJob(job, cluster),
      hosts: rows.map((r) => ({
        host: r.fqdn,
        state: shownState(r.run, job),
        step: r.run.step,
        exitCode: r.run.exitCode,
        signal: r.run.signal,
        message: r.run.message,
        durationMs: r.run.durationMs,
        startedAt: r.run.startedAt,
        finishedAt: r.run.finishedAt,
      })),
    });
  })
  .get("/:id/logs", valid("query", z.object({ host: z.string().max(200).optional() })), async (c) => {
    const { job, cluster } = await findJob(c.var.db, c.var.caller.tenantId, c.req.param("id"));
    const rows = await hostRows(c.var.db, job, cluster, c.req.valid("query").host);
    return c.json({
      logs: rows.map((r) => ({
        host: r.fqdn,
        state: shownState(r.run, job),
        stdout: r.run.stdoutTail ?? "",
        stderr: r.run.stderrTail ?? "",
      })),
    });
  })
  .post("/:id/cancel", requireRole("operator"), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const { job, cluster } = await findJob(db, caller.tenantId, c.req.param("id"));
    if (job.cancelledAt) throw ApiError.conflict(`job ${job.id} is already cancelled`);
    const now = new Date();
    await db.batch([
      db.update(jobs).set({ cancelledAt: now }).where(eq(jobs.id, job.id)),
      db
        .update(jobHosts)
        .set({ state: "cancelled", finishedAt: now, message: "cancelled before it ran" })
        .where(and(eq(jobHosts.jobId, job.id), eq(jobHosts.state, "queued"))),
    ]);
    const running = await db
      .select({ hostId: jobHosts.hostId })
      .from(jobHosts)
      .where(and(eq(jobHosts.jobId, job.id), eq(jobHosts.state, "running")));
    // A queued row may have started meanwhile: the agent is told on every host not final yet.
    await Promise.allSettled(running.map((r) => hostObject(c.env, r.hostId).cancelJob(job.id as JobId)));
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "job.cancel",
      target: job.id,
      outcome: "allowed",
      details: { cluster, running: running.length },
    });
    return c.json({ job: presentJob({ ...job, cancelledAt: now }, cluster), signalled: running.length });
  });
