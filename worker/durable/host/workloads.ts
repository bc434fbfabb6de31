// The HostDO's half of workloads (schema/protocol/workloads.ts): it builds the host's whole desired
// set from libSQL and pushes it to a ready agent of capability ≥ 6 (after ready, and whenever a
// route changed it), and it records each workload.status the agent sends: the instance row, then
// the deployments waiting on this host, settled by what the agent saw.
//
// Security: a status names a workload id; it is applied only to that id's row *on this host*, so an
// agent cannot report for another host's (or tenant's) workloads. Its text fields were checked on the
// wire (no control characters, bounded), and go into the row as data.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AppSpec } from "../../../schema/apps/spec.ts";
import { apps, deploymentHosts, deployments, instances, releases } from "../../../schema/db/tables.ts";
import { encodeCbor, type Workload, type WorkloadStatusFrame } from "../../../schema/protocol/index.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import { encodeSealedEnvEntry } from "../../../schema/secrets/index.ts";
import type { Database } from "../../db/database.ts";
import { sealedEnvFor } from "../../secrets/sealed-env.ts";

function _bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

/** Every workload of `hostId`, as the `workloads` frame carries them. */
export async function desiredWorkloads(db: Database, hostId: HostId): Promise<Workload[]> {
  const rows = await db
    .select({ inst: instances, app: apps, release: releases })
    .from(instances)
    .innerJoin(apps, eq(apps.id, instances.appId))
    .innerJoin(releases, and(eq(releases.appId, instances.appId), eq(releases.n, instances.release)))
    .where(eq(instances.hostId, hostId));
  const out: Workload[] = [];
  for (const { inst, app, release } of rows) {
    const spec = release.spec as unknown as AppSpec;
    // The last release that passed its gate, other than this one: where a failure soon after going
    // live goes back to.
    const [back] = await db
      .select({ n: releases.n })
      .from(releases)
      .where(
        and(
          eq(releases.appId, app.id),
          sql`${releases.healthyAt} is not null`,
          sql`${releases.n} <> ${release.n}`,
        ),
      )
      .orderBy(sql`${releases.healthyAt} desc`)
      .limit(1);
    // Sealed env (contract 4): each entry sealed to this host, as its own CBOR bytes. A variable not yet
    // sealed to this host is left out, and the agent is never told a value it cannot open; the deploy
    // (outpost deploy, with a keeper key) re-seals for new hosts first (`outpost env reseal` by hand).
    const sealed = await sealedEnvFor(db, { tenantId: inst.tenantId, app: app.name, hostId });
    const env = Array.isArray(sealed) ? sealed.map((e) => encodeCbor(encodeSealedEnvEntry(e))) : [];
    const { name: _name, ...run } = spec;
    out.push({
      id: inst.id,
      tenant: inst.tenantId,
      kind: "app",
      name: app.name,
      generation: inst.generation,
      desired: inst.desired,
      spec: { kind: "app", release: release.n, ...run, ...(back ? { revertTo: back.n } : {}) },
      artifact: { sha256: _bytes(release.sha256), size: release.size },
      env,
      actions: inst.actions,
    });
  }
  return out;
}

/** Records what the agent of `hostId` reports, and settles the deployments that waited on it. */
export async function recordStatus(db: Database, hostId: HostId, frame: WorkloadStatusFrame): Promise<void> {
  const [inst] = await db
    .select()
    .from(instances)
    .where(and(eq(instances.id, frame.id as typeof instances.$inferSelect.id), eq(instances.hostId, hostId)));
  if (!inst) return; // not this host's: ignored, never applied elsewhere
  const done = new Set(frame.actions.map((a) => a.id));
  await db
    .update(instances)
    .set({
      observedGeneration: frame.generation,
      liveRelease: frame.live ?? null,
      observed: frame.instances as unknown as Record<string, unknown>[],
      message: frame.message ?? null,
      observedAt: new Date(),
      actions: inst.actions.filter((a) => !done.has(a.id)),
    })
    .where(eq(instances.id, inst.id));
  const live = frame.instances.find((i) => i.release === frame.live);
  if (live?.state === "healthy" && frame.live !== undefined) {
    await db
      .update(releases)
      .set({ healthyAt: new Date() })
      .where(
        and(eq(releases.appId, inst.appId), eq(releases.n, frame.live), sql`${releases.healthyAt} is null`),
      );
  }
  const waiting = await db
    .select({ dh: deploymentHosts, d: deployments })
    .from(deploymentHosts)
    .innerJoin(deployments, eq(deployments.id, deploymentHosts.deploymentId))
    .where(
      and(
        eq(deploymentHosts.hostId, hostId),
        eq(deployments.appId, inst.appId),
        inArray(deploymentHosts.status, ["pending", "running"]),
      ),
    );
  for (const { dh, d } of waiting) {
    if (frame.generation < dh.generation) continue;
    let outcome: "running" | "succeeded" | "failed" = "running";
    let message = frame.message ?? null;
    if (d.kind === "restart") {
      const result = frame.actions.find((a) => a.id === dh.actionId);
      if (result) {
        outcome = result.ok ? "succeeded" : "failed";
        message = result.message ?? message;
      }
    } else if (d.kind === "stop" || d.kind === "rm") {
      if (frame.live === undefined) outcome = "succeeded";
    } else {
      // A start names no release: it brings back the one the host has.
      const want = d.release ?? inst.release;
      const mine = frame.instances.find((i) => i.release === want);
      if (frame.live === want && mine?.state === "healthy") outcome = "succeeded";
      else if (mine?.state === "failed") {
        outcome = "failed";
        message = frame.message ?? mine.health ?? "failed";
      }
    }
    if (outcome === "running") {
      if (dh.status === "pending") {
        await db
          .update(deploymentHosts)
          .set({ status: "running", updatedAt: new Date() })
          .where(and(eq(deploymentHosts.deploymentId, d.id), eq(deploymentHosts.hostId, hostId)));
      }
      continue;
    }
    await db
      .update(deploymentHosts)
      .set({ status: outcome, message, updatedAt: new Date() })
      .where(and(eq(deploymentHosts.deploymentId, d.id), eq(deploymentHosts.hostId, hostId)));
    const rest = await db.select().from(deploymentHosts).where(eq(deploymentHosts.deploymentId, d.id));
    // A rollout is settled by its driver (ClusterDO, cluster/rollout.ts), which may still revert.
    if (d.kind !== "rollout" && rest.every((r) => r.status === "succeeded" || r.status === "failed")) {
      const failed = rest.find((r) => r.status === "failed");
      await db
        .update(deployments)
        .set({
          status: failed ? "failed" : "succeeded",
          message: failed?.message ?? message,
          finishedAt: new Date(),
        })
        .where(eq(deployments.id, d.id));
    }
  }
}
