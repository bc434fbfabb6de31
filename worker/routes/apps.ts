// Apps (issue 13): deploys, rollbacks and the day-two changes, each a deployment row with one row per
// target host. A route writes the desired state (instances: generation, release, actions) and asks
// the host's object to push it; the agent reconciles and reports, and host/workloads.ts settles the
// deployment from what it reports. A second deploy of an app while one runs is refused (409, naming
// the running one): never queued behind it, so what runs is always what the caller just asked for.
import { and, asc, desc, eq, isNull, type SQL, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { parseAppSpec, SpecError } from "../../schema/apps/spec.ts";
import {
  apps,
  clusters,
  type DEPLOYMENT_KINDS,
  deploymentHosts,
  deployments,
  hosts,
  instances,
  releases,
  sites,
} from "../../schema/db/tables.ts";
import { type AppId, type DeploymentId, newId, type TenantId } from "../../schema/ids.ts";
import { SERVICE_NAME_PATTERN, SERVICE_NAME_RULE } from "../../schema/names.ts";
import type { HostId } from "../../schema/protocol/keys.ts";
import { formatSelector, MAX_SELECTOR_LENGTH, matchesSelector } from "../../schema/selectors.ts";
import { grantArtifact } from "../artifacts/grants.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import type { Database } from "../db/database.ts";
import { resolveCluster, resolveHost } from "../db/resolve.ts";
import { type RolloutPlan, UNPUSHED_GENERATION } from "../durable/cluster/rollout.ts";
import { clusterObject, hostObject } from "../durable/stubs.ts";
import type { AppEnv, Bindings } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { selectorParam } from "../http/selector.ts";
import { valid } from "../http/validate.ts";
import { notSealedMessage, sealedEnvFor } from "../secrets/sealed-env.ts";

const APP_NAME = z.string().regex(SERVICE_NAME_PATTERN, { error: `must be ${SERVICE_NAME_RULE}` });

const deployBody = z.object({
  /** outpost.toml as the CLI read it; checked here again with the same parser. */
  spec: z.string().max(64 * 1024),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: "must be a lowercase hex sha256" }),
  size: z.number().int().positive(),
  /** `<host>.<cluster>`: one host. */
  to: z.string().min(1).max(200).optional(),
  /** A rollout instead: every host of the cluster (and site) the selector chooses. */
  cluster: z.string().min(1).max(63).optional(),
  site: z.string().min(1).max(63).optional(),
  selector: z.string().max(MAX_SELECTOR_LENGTH).optional(),
  canary: z.number().int().min(0).max(1000).default(0),
  maxParallel: z.number().int().min(1).max(1000).default(1),
  hostTimeoutMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3_600_000)
    .default(10 * 60_000),
});

const rollbackBody = z.object({ to: z.number().int().positive().optional() });
const actionBody = z.object({
  op: z.enum(["start", "stop", "restart", "rm"]),
  host: z.string().min(1).max(200).optional(),
});

async function _app(db: Database, tenantId: TenantId, name: string) {
  const [row] = await db
    .select()
    .from(apps)
    .where(and(eq(apps.tenantId, tenantId), eq(apps.name, name)));
  if (!row) throw ApiError.notFound(`app '${name}'`);
  return row;
}

/** The running deployment of an app, if any: a second one is refused while it runs (and audited). */
async function _refuseIfRunning(
  db: Database,
  appId: AppId,
  name: string,
  who: { tenantId: TenantId; actor: string; action: string },
): Promise<void> {
  const [running] = await db
    .select({ id: deployments.id })
    .from(deployments)
    .where(and(eq(deployments.appId, appId), eq(deployments.status, "running")))
    .limit(1);
  if (running) {
    await audit(db, {
      tenantId: who.tenantId,
      actor: who.actor,
      action: who.action,
      target: appId,
      outcome: "denied",
      details: { app: name, reason: "deployment_running", running: running.id },
    });
    throw ApiError.conflict(
      `app '${name}' has a deployment running (${running.id}); wait for it (outpost deploys ${name}) and try again`,
    );
  }
}

/** Writes a deployment of `kind` to the app's instances on `hostIds` and pushes them. */
async function _deploy(
  env: Bindings,
  db: Database,
  d: {
    tenantId: TenantId;
    appId: AppId;
    kind: (typeof DEPLOYMENT_KINDS)[number];
    release: number | null;
    actor: string;
  },
  targets: { hostId: HostId; desired: "running" | "stopped" | "absent"; action?: "restart" }[],
) {
  const id = newId("deployment") as DeploymentId;
  await db.insert(deployments).values({ id, ...d, createdBy: d.actor });
  for (const t of targets) {
    const [existing] = await db
      .select()
      .from(instances)
      .where(and(eq(instances.appId, d.appId), eq(instances.hostId, t.hostId)));
    const actionId = t.action ? newId("action") : undefined;
    const actions = [...(existing?.actions ?? []), ...(actionId ? [{ id: actionId, op: t.action! }] : [])];
    const generation = (existing?.generation ?? 0) + (t.action ? 0 : 1);
    const release = d.release ?? existing?.release;
    if (release === undefined) throw ApiError.conflict("the app has no release on that host yet");
    if (existing) {
      await db
        .update(instances)
        .set({ generation, desired: t.desired, release, actions })
        .where(eq(instances.id, existing.id));
    } else {
      await db.insert(instances).values({
        id: newId("workload"),
        tenantId: d.tenantId,
        appId: d.appId,
        hostId: t.hostId,
        generation,
        desired: t.desired,
        release,
        actions,
      });
    }
    await db
      .insert(deploymentHosts)
      .values({ deploymentId: id, hostId: t.hostId, generation, ...(actionId ? { actionId } : {}) });
  }
  for (const t of targets) await hostObject(env, t.hostId).pushWorkloads();
  const [row] = await db.select().from(deployments).where(eq(deployments.id, id));
  return row!;
}

/** The hosts a rollout targets (not revoked, in cluster and site, matching the selector), by name. */
async function _rolloutHosts(
  db: Database,
  tenantId: TenantId,
  body: { cluster: string; site?: string | undefined; selector?: string | undefined },
) {
  const selector = selectorParam(body.selector);
  const cluster = await resolveCluster(db, tenantId, body.cluster);
  const where: SQL[] = [
    eq(hosts.tenantId, tenantId),
    eq(hosts.clusterId, cluster.id),
    isNull(hosts.revokedAt),
  ];
  if (body.site) where.push(eq(sites.name, body.site));
  const rows = await db
    .select({ id: hosts.id, name: hosts.name, labels: hosts.labels })
    .from(hosts)
    .innerJoin(sites, eq(hosts.siteId, sites.id))
    .where(and(...where))
    .orderBy(asc(hosts.name));
  const chosen = rows.filter((r) => matchesSelector(selector, r.labels));
  if (chosen.length === 0) {
    const shown = formatSelector(selector);
    throw new ApiError(
      404,
      "no_hosts",
      `no host in cluster '${cluster.name}'${body.site ? ` site '${body.site}'` : ""} matches ${shown ? `'${shown}'` : "(every host)"}`,
    );
  }
  return { cluster, hosts: chosen.map((h) => ({ id: h.id, fqdn: `${h.name}.${cluster.name}` })) };
}

/** Canary hosts first (one batch), then batches of maxParallel. */
function _batches(ids: HostId[], canary: number, maxParallel: number): HostId[][] {
  const out: HostId[][] = [];
  const first = Math.min(canary, ids.length);
  if (first > 0) out.push(ids.slice(0, first));
  for (let i = first; i < ids.length; i += maxParallel) out.push(ids.slice(i, i + maxParallel));
  return out;
}

/** Writes a rollout's deployment (every host pending) and hands it to the cluster's ClusterDO. */
async function _rollout(
  env: Bindings,
  db: Database,
  r: Omit<RolloutPlan, "deploymentId" | "batches" | "names" | "previous"> & {
    clusterId: string;
    hosts: { id: HostId; fqdn: string }[];
    canary: number;
    maxParallel: number;
  },
) {
  const id = newId("deployment") as DeploymentId;
  await db.insert(deployments).values({
    id,
    tenantId: r.tenantId,
    appId: r.appId,
    kind: "rollout",
    release: r.release,
    createdBy: r.actor,
  });
  const existing = await db.select().from(instances).where(eq(instances.appId, r.appId));
  const previous: Record<string, number | null> = {};
  for (const h of r.hosts) {
    const inst = existing.find((i) => i.hostId === h.id);
    previous[h.id] = inst && inst.desired === "running" ? (inst.liveRelease ?? inst.release) : null;
    await db
      .insert(deploymentHosts)
      .values({ deploymentId: id, hostId: h.id, generation: UNPUSHED_GENERATION });
  }
  await clusterObject(env, r.clusterId).startRollout({
    deploymentId: id,
    tenantId: r.tenantId,
    appId: r.appId,
    app: r.app,
    actor: r.actor,
    release: r.release,
    hostTimeoutMs: r.hostTimeoutMs,
    batches: _batches(
      r.hosts.map((h) => h.id),
      r.canary,
      r.maxParallel,
    ),
    names: Object.fromEntries(r.hosts.map((h) => [h.id, h.fqdn])),
    previous,
  });
  const [row] = await db.select().from(deployments).where(eq(deployments.id, id));
  return row!;
}

async function _deploymentView(db: Database, id: DeploymentId, tenantId: TenantId) {
  const [row] = await db
    .select({ d: deployments, app: apps.name })
    .from(deployments)
    .innerJoin(apps, eq(apps.id, deployments.appId))
    .where(and(eq(deployments.id, id), eq(deployments.tenantId, tenantId)));
  if (!row) throw ApiError.notFound(`deployment '${id}'`);
  const perHost = await db
    .select({ dh: deploymentHosts, host: hosts.name, cluster: clusters.name })
    .from(deploymentHosts)
    .innerJoin(hosts, eq(hosts.id, deploymentHosts.hostId))
    .innerJoin(clusters, eq(clusters.id, hosts.clusterId))
    .where(eq(deploymentHosts.deploymentId, id));
  return {
    ..._deployment(row.d, row.app),
    hosts: perHost.map((h) => ({
      host: `${h.host}.${h.cluster}`,
      status: h.dh.status,
      message: h.dh.message,
      updatedAt: h.dh.updatedAt?.toISOString() ?? null,
    })),
  };
}

function _deployment(d: typeof deployments.$inferSelect, app: string) {
  return {
    id: d.id,
    app,
    kind: d.kind,
    release: d.release,
    status: d.status,
    message: d.message,
    createdBy: d.createdBy,
    createdAt: d.createdAt.toISOString(),
    finishedAt: d.finishedAt?.toISOString() ?? null,
  };
}

export const appRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const cluster = c.req.query("cluster");
    const rows = await c.var.db
      .select({ inst: instances, app: apps.name, host: hosts.name, cluster: clusters.name })
      .from(instances)
      .innerJoin(apps, eq(apps.id, instances.appId))
      .innerJoin(hosts, eq(hosts.id, instances.hostId))
      .innerJoin(clusters, eq(clusters.id, hosts.clusterId))
      .where(
        and(eq(instances.tenantId, c.var.caller.tenantId), cluster ? eq(clusters.name, cluster) : undefined),
      )
      .orderBy(apps.name, hosts.name);
    const items = rows.map(({ inst, app, host, cluster: cl }) => {
      const live = (
        inst.observed as {
          release: number;
          state: string;
          restarts: number;
          since: number;
          health?: string;
        }[]
      ).find((i) => i.release === inst.liveRelease);
      return {
        app,
        host: `${host}.${cl}`,
        desired: inst.desired,
        release: inst.release,
        live: inst.liveRelease,
        status: live?.state ?? (inst.desired === "running" ? "pending" : inst.desired),
        health: live?.health ?? null,
        restarts: live?.restarts ?? 0,
        since: live ? new Date(live.since).toISOString() : null,
        message: inst.message,
      };
    });
    return c.json({ items });
  })
  .post("/:app/deploys", requireRole("operator"), valid("json", deployBody), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const body = c.req.valid("json");
    const name = APP_NAME.safeParse(c.req.param("app"));
    if (!name.success) throw ApiError.badRequest(`app name must be ${SERVICE_NAME_RULE}`);
    let spec: ReturnType<typeof parseAppSpec>;
    try {
      spec = parseAppSpec(body.spec, { name: name.data });
    } catch (error) {
      if (error instanceof SpecError) throw ApiError.badRequest(error.message, "invalid_spec");
      throw error;
    }
    if ((body.to === undefined) === (body.cluster === undefined))
      throw ApiError.badRequest("give exactly one of to (<host>.<cluster>) or cluster");
    const targets = body.cluster
      ? await _rolloutHosts(db, caller.tenantId, { ...body, cluster: body.cluster })
      : undefined;
    const host = body.to ? await resolveHost(db, caller.tenantId, body.to) : undefined;
    if (host) {
      // Refused before anything is written: started there, the app would run without its env.
      const sealed = await sealedEnvFor(db, { tenantId: caller.tenantId, app: spec.name, hostId: host.id });
      if (!Array.isArray(sealed))
        throw new ApiError(409, "env_not_sealed", notSealedMessage(spec.name, body.to!, sealed.missing));
    }
    await db
      .insert(apps)
      .values({ id: newId("app"), tenantId: caller.tenantId, name: spec.name })
      .onConflictDoNothing();
    const app = await _app(db, caller.tenantId, spec.name);
    await _refuseIfRunning(db, app.id, app.name, { ...caller, action: "app.deploy" });
    for (const h of targets?.hosts ?? [host!])
      await grantArtifact(db, { tenantId: caller.tenantId, hostId: h.id, sha256: body.sha256 });
    const [last] = await db
      .select({ n: sql<number>`max(${releases.n})` })
      .from(releases)
      .where(eq(releases.appId, app.id));
    const n = (last?.n ?? 0) + 1;
    await db.insert(releases).values({
      appId: app.id,
      n,
      sha256: body.sha256,
      size: body.size,
      spec: spec as unknown as Record<string, unknown>,
      createdBy: caller.actor,
    });
    if (targets) {
      const d = await _rollout(c.env, db, {
        tenantId: caller.tenantId,
        appId: app.id,
        app: app.name,
        actor: caller.actor,
        release: n,
        clusterId: targets.cluster.id,
        hosts: targets.hosts,
        canary: body.canary,
        maxParallel: body.maxParallel,
        hostTimeoutMs: body.hostTimeoutMs,
      });
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "app.deploy",
        target: app.id,
        outcome: "allowed",
        details: {
          app: app.name,
          release: n,
          sha256: body.sha256,
          cluster: targets.cluster.name,
          hosts: targets.hosts.map((h) => h.fqdn),
          canary: body.canary,
          maxParallel: body.maxParallel,
          deployment: d.id,
        },
      });
      return c.json({ deployment: _deployment(d, app.name) }, 201);
    }
    const d = await _deploy(
      c.env,
      db,
      { tenantId: caller.tenantId, appId: app.id, kind: "deploy", release: n, actor: caller.actor },
      [{ hostId: host!.id, desired: "running" }],
    );
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "app.deploy",
      target: app.id,
      outcome: "allowed",
      details: { app: app.name, release: n, sha256: body.sha256, host: body.to, deployment: d.id },
    });
    return c.json({ deployment: _deployment(d, app.name) }, 201);
  })
  .post("/:app/rollback", requireRole("operator"), valid("json", rollbackBody), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const app = await _app(db, caller.tenantId, c.req.param("app"));
    await _refuseIfRunning(db, app.id, app.name, { ...caller, action: "app.rollback" });
    const targets = await db.select().from(instances).where(eq(instances.appId, app.id));
    if (targets.length === 0) throw ApiError.conflict(`app '${app.name}' runs nowhere`);
    const current = targets[0]!.liveRelease ?? targets[0]!.release;
    let to = c.req.valid("json").to;
    if (to === undefined) {
      const [prev] = await db
        .select({ n: releases.n })
        .from(releases)
        .where(
          and(
            eq(releases.appId, app.id),
            sql`${releases.healthyAt} is not null`,
            sql`${releases.n} < ${current}`,
          ),
        )
        .orderBy(desc(releases.n))
        .limit(1);
      if (!prev) throw ApiError.conflict(`app '${app.name}' has no healthy release before ${current}`);
      to = prev.n;
    }
    const [release] = await db
      .select()
      .from(releases)
      .where(and(eq(releases.appId, app.id), eq(releases.n, to)));
    if (!release) throw ApiError.notFound(`release ${to} of '${app.name}'`);
    for (const t of targets)
      await grantArtifact(db, { tenantId: caller.tenantId, hostId: t.hostId, sha256: release.sha256 });
    const d = await _deploy(
      c.env,
      db,
      { tenantId: caller.tenantId, appId: app.id, kind: "rollback", release: to, actor: caller.actor },
      targets.map((t) => ({ hostId: t.hostId, desired: "running" as const })),
    );
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "app.rollback",
      target: app.id,
      outcome: "allowed",
      details: { app: app.name, from: current, to, deployment: d.id },
    });
    return c.json({ deployment: _deployment(d, app.name) }, 201);
  })
  .post("/:app/actions", requireRole("operator"), valid("json", actionBody), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const { op, host: hostRef } = c.req.valid("json");
    const app = await _app(db, caller.tenantId, c.req.param("app"));
    await _refuseIfRunning(db, app.id, app.name, { ...caller, action: `app.${op}` });
    const only = hostRef ? (await resolveHost(db, caller.tenantId, hostRef)).id : undefined;
    const targets = (await db.select().from(instances).where(eq(instances.appId, app.id))).filter(
      (t) => only === undefined || t.hostId === only,
    );
    if (targets.length === 0)
      throw ApiError.notFound(`app '${app.name}'${hostRef ? ` on '${hostRef}'` : ""}`);
    const desired = op === "stop" ? "stopped" : op === "rm" ? "absent" : "running";
    const d = await _deploy(
      c.env,
      db,
      { tenantId: caller.tenantId, appId: app.id, kind: op, release: null, actor: caller.actor },
      targets.map((t) => ({
        hostId: t.hostId,
        desired,
        ...(op === "restart" ? { action: "restart" as const } : {}),
      })),
    );
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: `app.${op}`,
      target: app.id,
      outcome: "allowed",
      details: { app: app.name, deployment: d.id, ...(hostRef ? { host: hostRef } : {}) },
    });
    return c.json({ deployment: _deployment(d, app.name) }, 201);
  })
  .get("/:app/releases", async (c) => {
    const app = await _app(c.var.db, c.var.caller.tenantId, c.req.param("app"));
    const rows = await c.var.db
      .select()
      .from(releases)
      .where(eq(releases.appId, app.id))
      .orderBy(desc(releases.n));
    const live = new Set(
      (
        await c.var.db.select({ n: instances.liveRelease }).from(instances).where(eq(instances.appId, app.id))
      ).map((r) => r.n),
    );
    const items = rows.map((r) => ({
      release: r.n,
      sha256: r.sha256,
      size: r.size,
      live: live.has(r.n),
      healthy: r.healthyAt !== null,
      createdBy: r.createdBy,
      createdAt: r.createdAt.toISOString(),
    }));
    return c.json({ items });
  })
  .get("/:app/deploys", async (c) => {
    const app = await _app(c.var.db, c.var.caller.tenantId, c.req.param("app"));
    const rows = await c.var.db
      .select()
      .from(deployments)
      .where(eq(deployments.appId, app.id))
      .orderBy(desc(deployments.createdAt))
      .limit(100);
    return c.json({ items: rows.map((d) => _deployment(d, app.name)) });
  });

export const deployRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const rows = await c.var.db
      .select({ d: deployments, app: apps.name })
      .from(deployments)
      .innerJoin(apps, eq(apps.id, deployments.appId))
      .where(eq(deployments.tenantId, c.var.caller.tenantId))
      .orderBy(desc(deployments.createdAt))
      .limit(100);
    return c.json({ items: rows.map((r) => _deployment(r.d, r.app)) });
  })
  .get("/:id", async (c) => {
    const id = c.req.param("id");
    if (!/^dep_[0-9a-z]{16}$/.test(id)) throw ApiError.notFound(`deployment '${id.slice(0, 40)}'`);
    return c.json({ deployment: await _deploymentView(c.var.db, id as DeploymentId, c.var.caller.tenantId) });
  });
