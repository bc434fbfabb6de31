// Multi-host rollouts (issue 13 item 8), driven by the ClusterDO's alarm so they go on without the CLI.
// The route (routes/apps.ts) writes the deployment (kind `rollout`) with one deployment_hosts row per
// target, each at an unreachable generation so nothing settles it before its batch, and hands the plan
// here. Each tick (`step`) reads libSQL and moves the cursor, which lives in the ClusterDO's storage:
// an evicted object resumes from it on its next alarm.
//
//   forward: push batch k (canary hosts first, then batches of maxParallel): each host's instance gets
//            the new release at generation+1; the host's agent runs its health gate and reports
//            (host/workloads.ts settles the row). A host that has not settled within hostTimeoutMs
//            (offline, or never reporting) fails alone and is put back on its previous desired state;
//            the rollout goes on. A host failing its gate stops the rollout: revert.
//   revert:  every host this rollout changed goes back to its previous live release (or is removed if
//            it had none) through the same gate, and the hosts not reached yet are `skipped`.
import { and, eq } from "drizzle-orm";
import { deploymentHosts, deployments, instances } from "../../../schema/db/tables.ts";
import { type AppId, type DeploymentId, newId, type TenantId } from "../../../schema/ids.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import { audit } from "../../db/audit.ts";
import type { Database } from "../../db/database.ts";
import type { Bindings } from "../../env.ts";
import { notSealedMessage, sealedEnvFor } from "../../secrets/sealed-env.ts";

/** Generation a deployment_hosts row carries until its batch is pushed: no report reaches it. */
export const UNPUSHED_GENERATION = Number.MAX_SAFE_INTEGER;

/** What the Worker checked and chose; the ClusterDO drives it. */
export interface RolloutPlan {
  deploymentId: DeploymentId;
  tenantId: TenantId;
  appId: AppId;
  app: string;
  actor: string;
  release: number;
  hostTimeoutMs: number;
  /** Host ids in order: the canary batch first (if any), then batches of maxParallel. */
  batches: HostId[][];
  /** `<host>.<cluster>` of each host, for messages. */
  names: Record<string, string>;
  /** Each host's previous live release, or null if the app did not run there. */
  previous: Record<string, number | null>;
}

interface Reverting {
  hostId: HostId;
  generation: number;
  release: number | null;
}

export interface RolloutCursor {
  plan: RolloutPlan;
  phase: "forward" | "revert";
  batch: number;
  /** When the current batch was pushed (forward), or the revert began. */
  since: number | null;
  /** Hosts whose instance this rollout changed (a revert puts them back). */
  touched: HostId[];
  failure?: string;
  reverting?: Reverting[];
  /** Hosts that failed alone (timed out): reported in the final message. */
  timedOut: HostId[];
}

export function newCursor(plan: RolloutPlan): RolloutCursor {
  return { plan, phase: "forward", batch: 0, since: null, touched: [], timedOut: [] };
}

async function _setHost(
  db: Database,
  id: DeploymentId,
  hostId: HostId,
  set: Partial<typeof deploymentHosts.$inferInsert>,
) {
  await db
    .update(deploymentHosts)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(deploymentHosts.deploymentId, id), eq(deploymentHosts.hostId, hostId)));
}

/** Sets the app's instance on `hostId` to `release` (null: absent) at a new generation; that generation. */
async function _desire(db: Database, plan: RolloutPlan, hostId: HostId, release: number | null) {
  const [existing] = await db
    .select()
    .from(instances)
    .where(and(eq(instances.appId, plan.appId), eq(instances.hostId, hostId)));
  const generation = (existing?.generation ?? 0) + 1;
  if (existing) {
    await db
      .update(instances)
      .set({
        generation,
        desired: release === null ? "absent" : "running",
        release: release ?? existing.release,
      })
      .where(eq(instances.id, existing.id));
  } else if (release !== null) {
    await db.insert(instances).values({
      id: newId("workload"),
      tenantId: plan.tenantId,
      appId: plan.appId,
      hostId,
      generation,
      desired: "running",
      release,
    });
  }
  return generation;
}

/** One tick of the driver: the cursor to keep, or null when the rollout is finished. */
export async function step(env: Bindings, db: Database, cur: RolloutCursor): Promise<RolloutCursor | null> {
  const { plan } = cur;
  const push = (hostId: HostId) => env.HOST.get(env.HOST.idFromName(hostId)).pushWorkloads();
  const now = Date.now();
  if (cur.phase === "forward") {
    const batch = plan.batches[cur.batch];
    if (!batch) return _finish(db, cur);
    if (cur.since === null) {
      for (const hostId of batch) {
        // A host not yet a recipient of the app's sealed env would start it without its env: it fails
        // here instead, untouched, saying what to run (the deploy came without a keeper: SDK, API).
        const sealed = await sealedEnvFor(db, { tenantId: plan.tenantId, app: plan.app, hostId });
        if (!Array.isArray(sealed)) {
          await _setHost(db, plan.deploymentId, hostId, {
            status: "failed",
            message: notSealedMessage(plan.app, plan.names[hostId] ?? hostId, sealed.missing),
          });
          continue;
        }
        const generation = await _desire(db, plan, hostId, plan.release);
        await _setHost(db, plan.deploymentId, hostId, { generation, status: "running" });
        cur.touched.push(hostId);
      }
      cur.since = now;
      for (const hostId of batch) if (cur.touched.includes(hostId)) await push(hostId);
      return cur;
    }
    const rows = await db
      .select()
      .from(deploymentHosts)
      .where(eq(deploymentHosts.deploymentId, plan.deploymentId));
    const mine = rows.filter((r) => batch.includes(r.hostId));
    const open = mine.filter((r) => r.status === "pending" || r.status === "running");
    if (open.length && now - cur.since < plan.hostTimeoutMs) return cur;
    for (const r of open) {
      // Failed alone: put back where it was, so a late reconnect does not run an unchecked release.
      const back = plan.previous[r.hostId] ?? null;
      await _desire(db, plan, r.hostId, back);
      cur.touched = cur.touched.filter((h) => h !== r.hostId);
      cur.timedOut.push(r.hostId);
      await _setHost(db, plan.deploymentId, r.hostId, {
        status: "failed",
        message: `no healthy report within ${Math.round(plan.hostTimeoutMs / 1000)}s (offline?); left on ${back === null ? "nothing" : `release ${back}`}`,
      });
      await push(r.hostId);
    }
    const failed = mine.find((r) => r.status === "failed");
    if (!failed) {
      cur.batch++;
      cur.since = null;
      return cur;
    }
    const why = cur.touched.includes(failed.hostId) ? "failed its health gate on" : "could not start on";
    cur.failure = `release ${plan.release} ${why} ${plan.names[failed.hostId]}: ${failed.message ?? "failed"}`;
    cur.phase = "revert";
    cur.since = now;
    cur.reverting = [];
    for (const hostId of cur.touched) {
      const release = plan.previous[hostId] ?? null;
      cur.reverting.push({ hostId, generation: await _desire(db, plan, hostId, release), release });
    }
    for (const r of rows) {
      if (r.status === "pending")
        await _setHost(db, plan.deploymentId, r.hostId, {
          status: "skipped",
          message: "not started: the rollout stopped",
        });
    }
    await audit(db, {
      tenantId: plan.tenantId,
      actor: plan.actor,
      action: "app.revert",
      target: plan.appId,
      outcome: "allowed",
      details: {
        app: plan.app,
        deployment: plan.deploymentId,
        release: plan.release,
        hosts: cur.reverting.map((r) => plan.names[r.hostId]),
        reason: cur.failure,
      },
    });
    for (const r of cur.reverting) await push(r.hostId);
    return cur;
  }
  // revert: each host back on its previous release and healthy (or removed), or the timeout.
  const left: Reverting[] = [];
  for (const r of cur.reverting ?? []) {
    const [inst] = await db
      .select()
      .from(instances)
      .where(and(eq(instances.appId, plan.appId), eq(instances.hostId, r.hostId)));
    const observed = (inst?.observed ?? []) as { release: number; state: string }[];
    const done =
      !inst ||
      (inst.observedGeneration >= r.generation &&
        (r.release === null
          ? inst.liveRelease === null
          : inst.liveRelease === r.release &&
            observed.some((o) => o.release === r.release && o.state === "healthy")));
    const ok = (
      await db.select().from(deploymentHosts).where(eq(deploymentHosts.deploymentId, plan.deploymentId))
    ).find((h) => h.hostId === r.hostId);
    if (done) {
      await _setHost(db, plan.deploymentId, r.hostId, {
        status: ok?.status === "failed" ? "failed" : "reverted",
        message:
          ok?.status === "failed"
            ? ok.message
            : r.release === null
              ? "reverted: removed"
              : `reverted to release ${r.release}`,
      });
    } else if (now - (cur.since ?? now) > plan.hostTimeoutMs) {
      await _setHost(db, plan.deploymentId, r.hostId, {
        status: "failed",
        message: `revert to release ${r.release} did not report healthy in time`,
      });
    } else left.push(r);
  }
  cur.reverting = left;
  return left.length ? cur : _finish(db, cur);
}

async function _finish(db: Database, cur: RolloutCursor): Promise<null> {
  const { plan } = cur;
  const names = (ids: HostId[]) => ids.map((h) => plan.names[h]).join(", ");
  const message =
    cur.failure ??
    (cur.timedOut.length
      ? `live on every host but ${names(cur.timedOut)} (did not report in time)`
      : `release ${plan.release} is live on ${Object.keys(plan.names).length} host(s)`);
  const status = cur.failure || cur.timedOut.length ? "failed" : "succeeded";
  await db
    .update(deployments)
    .set({ status, message, finishedAt: new Date() })
    .where(eq(deployments.id, plan.deploymentId));
  await audit(db, {
    tenantId: plan.tenantId,
    actor: plan.actor,
    action: "app.rollout",
    target: plan.appId,
    outcome: "allowed",
    details: { app: plan.app, deployment: plan.deploymentId, release: plan.release, status, message },
  });
  return null;
}
