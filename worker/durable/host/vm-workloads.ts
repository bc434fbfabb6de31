// The HostDO's half of microVM workloads (capability 9): a host's VMs as the `workloads` frame carries
// them, and what its agent reports of each (workload.status with `vm`).
//
// Security: a status names a workload id; it is applied only to that id's VM row *on this host*, so an
// agent cannot report for another host's (or tenant's) VMs, nor for a VM it was never given. Its text
// (message, action results) was checked on the wire: bounded, no control characters.
import { and, eq } from "drizzle-orm";
import { vms } from "../../../schema/db/tables.ts";
import type { VmRunSpec, Workload, WorkloadStatusFrame } from "../../../schema/protocol/index.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import type { Database } from "../../db/database.ts";

function _bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

/** Every VM of `hostId`, as the `workloads` frame carries them. */
export async function desiredVms(db: Database, hostId: HostId): Promise<Workload<VmRunSpec>[]> {
  const rows = await db.select().from(vms).where(eq(vms.hostId, hostId));
  return rows.map((vm) => ({
    id: vm.id,
    tenant: vm.tenantId,
    kind: "vm",
    name: vm.name,
    generation: vm.generation,
    desired: vm.desired,
    spec: {
      kind: "vm",
      image: vm.image,
      cmdline: vm.cmdline,
      cpus: vm.cpus,
      memory: vm.memoryMib,
      disk: vm.diskMib,
      ports: vm.ports,
      ...(vm.userData ? { userData: Uint8Array.from(atob(vm.userData), (c) => c.charCodeAt(0)) } : {}),
      ...(vm.driver ? { driver: vm.driver as NonNullable<VmRunSpec["driver"]> } : {}),
      stopTimeout: vm.stopTimeoutMs,
    },
    artifact: { sha256: _bytes(vm.imageSha256), size: vm.imageSize },
    env: [],
    actions: vm.actions,
  }));
}

/**
 * Records a VM's status from the agent of `hostId`; false when the id is no VM of this host (the
 * caller then tries its other kinds, or ignores it). A VM removed (desired absent) that the agent
 * reports destroyed is deleted: its name is free again.
 */
export async function recordVmStatus(
  db: Database,
  hostId: HostId,
  frame: WorkloadStatusFrame,
): Promise<boolean> {
  const [vm] = await db
    .select()
    .from(vms)
    .where(and(eq(vms.id, frame.id as typeof vms.$inferSelect.id), eq(vms.hostId, hostId)));
  if (!vm) return false;
  if (frame.vm === undefined) return true; // not a VM's status: nothing to record
  if (frame.vm.state === "destroyed" && vm.desired === "absent") {
    await db.delete(vms).where(eq(vms.id, vm.id));
    return true;
  }
  const done = new Set(frame.actions.map((a) => a.id));
  const before = (vm.observed.actions as { id: string }[] | undefined) ?? [];
  // The last results, newest last: what `vm snapshot` and friends wait for.
  const results = [...before.filter((a) => !done.has(a.id)), ...frame.actions].slice(-16);
  await db
    .update(vms)
    .set({
      observedGeneration: frame.generation,
      state: frame.vm.state,
      observed: { ...frame.vm, actions: results },
      message: frame.message ?? null,
      observedAt: new Date(),
      actions: vm.actions.filter((a) => !done.has(a.id)),
    })
    .where(eq(vms.id, vm.id));
  return true;
}
