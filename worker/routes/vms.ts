// microVMs (issue 14): a VM is a workload on one host. A route writes its desired state (the vms row:
// desired, generation, pending actions) and asks the host's object to push it; the agent reconciles
// with a driver (agent/vm/) and reports, and host/vm-workloads.ts records what it saw. A VM's name is
// unique in its cluster; another tenant's VM is "not found" like any name nobody has.
//
//   POST   /v1/vms                         {host, name, image, cpus?, memory?, disk?, ports?, userData?,
//                                           driver?}  201 {vm} (operator)
//   GET    /v1/vms?host=&cluster=&cursor=&limit=     {items, nextCursor}
//   GET    /v1/vms/:name?cluster=                    {vm}
//   POST   /v1/vms/:name/start|stop|restart|pause|resume?cluster=   {timeoutMs?: stop only}  {vm, action?}
//   POST   /v1/vms/:name/snapshots?cluster=          {name?}  {vm, action}
//   DELETE /v1/vms/:name/snapshots/:snapshot?cluster=         {vm, action}
//   POST   /v1/vms/:name/restore?cluster=            {snapshot}  {vm, action}
//   DELETE /v1/vms/:name?cluster=                    {vm}: desired absent; the row goes once destroyed
//
// `vm wait` is the client polling GET /v1/vms/:name.
import { and, asc, eq, gt, ne, or, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import {
  apps,
  artifacts,
  clusters,
  hosts,
  instances,
  services,
  type VmRow,
  vmImages,
  vms,
} from "../../schema/db/tables.ts";
import { type ActionId, newId, type TenantId } from "../../schema/ids.ts";
import { NAME_PATTERN, NAME_RULE, SERVICE_NAME_PATTERN, SERVICE_NAME_RULE } from "../../schema/names.ts";
import {
  type DriverFacts,
  MAX_USER_DATA,
  MAX_VM_CPUS,
  MAX_VM_DISK_MIB,
  MAX_VM_MEMORY_MIB,
  MAX_VM_PORTS,
  SNAPSHOT_NAME_PATTERN,
  VM_DRIVERS,
} from "../../schema/protocol/index.ts";
import type { HostId } from "../../schema/protocol/keys.ts";
import { grantArtifact } from "../artifacts/grants.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import type { Database } from "../db/database.ts";
import { actorIds, actorView, nameIds } from "../db/names.ts";
import { resolveCluster, resolveHost } from "../db/resolve.ts";
import { hostObject } from "../durable/stubs.ts";
import type { AppEnv, Bindings } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { valid } from "../http/validate.ts";

/** Most pending one-shot actions per VM (the wire's MAX_ACTIONS). */
const MAX_PENDING_ACTIONS = 16;
/** Most VMs one host is given: its one `workloads` frame holds them beside its apps. */
const MAX_VMS_PER_HOST = 32;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;

/** A service name (each port is the service `<vm>-<port>`) that is also a safe directory name on the host. */
const vmName = z
  .string({ error: "is required" })
  .regex(SERVICE_NAME_PATTERN, { error: `must be ${SERVICE_NAME_RULE}` })
  .refine((n) => !n.includes(".."), { error: "must not hold '..'" });
/**
 * A new VM's name: also a DNS label, since it is the guest's hostname (its NoCloud seed) and the name
 * its console and logs go by (host-streams.ts, frames.ts console.open), which take DNS labels only.
 */
const newVmName = z
  .string({ error: "is required" })
  .regex(NAME_PATTERN, { error: `must be ${NAME_RULE} (a VM's name is its guest's hostname)` });
const snapshotName = z
  .string()
  .regex(SNAPSHOT_NAME_PATTERN, { error: "must be 1-63 lowercase letters, digits or '-'" });

const createBody = z.strictObject({
  /** `<host>.<cluster>` or a host id. */
  host: z.string({ error: "is required" }).min(1).max(200),
  name: newVmName,
  image: z.string({ error: "is required" }).regex(NAME_PATTERN, { error: `must be ${NAME_RULE}` }),
  cpus: z.number().int().min(1).max(MAX_VM_CPUS).default(1),
  /** MiB. */
  memory: z.number().int().min(16).max(MAX_VM_MEMORY_MIB).default(256),
  /** MiB; 0: the image's rootfs size. */
  disk: z.number().int().min(0).max(MAX_VM_DISK_MIB).default(0),
  ports: z
    .array(z.number().int().min(1).max(65535))
    .max(MAX_VM_PORTS)
    .refine((p) => new Set(p).size === p.length, { error: "must not name a port twice" })
    .default([]),
  /** NoCloud user-data, base64. */
  userData: z
    .string()
    .max(Math.ceil(MAX_USER_DATA / 3) * 4, { error: `must be at most ${MAX_USER_DATA} bytes` })
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, { error: "must be base64" })
    .optional(),
  driver: z.enum(VM_DRIVERS, { error: `must be one of ${VM_DRIVERS.join(", ")}` }).optional(),
});

const clusterQuery = z.object({ cluster: z.string().min(1).max(63).optional() });
const listQuery = z.object({
  host: z.string().min(1).max(200).optional(),
  cluster: z.string().min(1).max(63).optional(),
  cursor: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}~wl_[0-9a-z]{16}$/, {
      error: "must be a nextCursor this listing returned",
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const nameParam = z.object({ name: vmName });
const stopBody = z.strictObject({ timeoutMs: z.number().int().min(0).max(3_600_000).optional() });
const snapshotBody = z.strictObject({ name: snapshotName.optional() });
const restoreBody = z.strictObject({ snapshot: snapshotName });

type Observed = {
  driver?: string;
  pid?: number;
  ports?: { guest: number; host: number }[];
  address?: string;
  snapshots?: { name: string; at: number }[];
  since?: number;
  actions?: { id: string; ok: boolean; message?: string }[];
};

/** The VM `name` of the caller's tenant (in `cluster`, when given); 409 when the name is in several. */
async function _vm(db: Database, tenantId: TenantId, name: string, cluster?: string) {
  const where: SQL[] = [eq(vms.tenantId, tenantId), eq(vms.name, name)];
  if (cluster !== undefined) where.push(eq(clusters.name, cluster));
  const rows = await db
    .select({ vm: vms, host: hosts.name, cluster: clusters.name })
    .from(vms)
    .innerJoin(hosts, eq(hosts.id, vms.hostId))
    .innerJoin(clusters, eq(clusters.id, vms.clusterId))
    .where(and(...where));
  if (rows.length === 0) throw ApiError.notFound(`VM '${name}'${cluster ? ` in cluster '${cluster}'` : ""}`);
  if (rows.length > 1)
    throw new ApiError(
      409,
      "ambiguous",
      `VM '${name}' is in clusters ${rows.map((r) => r.cluster).join(", ")}: name one with --cluster`,
    );
  return rows[0]!;
}

type Located = Awaited<ReturnType<typeof _vm>>;

/** The API's view of a VM: names, not ids; ISO times; the agent's word on its state. */
async function _views(db: Database, tenantId: TenantId, rows: Located[]) {
  const names = await nameIds(
    db,
    tenantId,
    rows.flatMap((r) => actorIds(r.vm.createdBy)),
  );
  return rows.map(({ vm, host, cluster }) => {
    const seen = vm.observed as Observed;
    return {
      name: vm.name,
      host: `${host}.${cluster}`,
      cluster,
      image: vm.image,
      imageSha256: vm.imageSha256,
      cpus: vm.cpus,
      memory: vm.memoryMib,
      disk: vm.diskMib,
      ports: vm.ports,
      services: vm.ports.map((p) => `${vm.name}-${p}`),
      driver: seen.driver ?? vm.driver,
      desired: vm.desired,
      /** As the agent last reported it; "created" until it did. */
      state: vm.state ?? "created",
      message: vm.message,
      pid: seen.pid ?? null,
      hostPorts: seen.ports ?? [],
      /** The guest's address on the host's --vm-bridge (null: user-mode networking). */
      address: seen.address ?? null,
      snapshots: (seen.snapshots ?? []).map((s) => ({ name: s.name, at: new Date(s.at).toISOString() })),
      pendingActions: vm.actions,
      actionResults: seen.actions ?? [],
      userData: vm.userData !== null,
      generation: vm.generation,
      observedGeneration: vm.observedGeneration,
      by: actorView(vm.createdBy, names),
      createdAt: vm.createdAt.toISOString(),
      updatedAt: vm.updatedAt?.toISOString() ?? null,
      observedAt: vm.observedAt?.toISOString() ?? null,
    };
  });
}

async function _view(db: Database, tenantId: TenantId, name: string, cluster?: string) {
  const [view] = await _views(db, tenantId, [await _vm(db, tenantId, name, cluster)]);
  return view!;
}

/** What the host's VMs that should run take already, and what its facts say it has. */
async function _capacity(
  db: Database,
  host: { id: HostId; facts: Record<string, unknown> },
  except?: string,
) {
  const running = await db
    .select({ cpus: vms.cpus, memory: vms.memoryMib })
    .from(vms)
    .where(
      and(
        eq(vms.hostId, host.id),
        eq(vms.desired, "running"),
        except ? ne(vms.id, except as VmRow["id"]) : undefined,
      ),
    );
  const cpus = typeof host.facts.cpus === "number" ? host.facts.cpus : undefined;
  const memory = typeof host.facts.memory === "number" ? Math.floor(host.facts.memory / 2 ** 20) : undefined;
  const used = running.reduce((s, r) => ({ cpus: s.cpus + r.cpus, memory: s.memory + r.memory }), {
    cpus: 0,
    memory: 0,
  });
  return { cpus, memory, used };
}

/** Refuses (409) a VM that does not fit in what the host has left, saying what is left. */
async function _refuseOversized(
  db: Database,
  host: { id: HostId; name: string; facts: Record<string, unknown> },
  fqdn: string,
  ask: { cpus: number; memory: number },
  except?: string,
) {
  const { cpus, memory, used } = await _capacity(db, host, except);
  // A host that never reported its facts (no agent yet) cannot be checked; its agent refuses instead.
  if (cpus === undefined || memory === undefined || cpus === 0) return;
  const left = { cpus: cpus - used.cpus, memory: memory - used.memory };
  if (ask.cpus > left.cpus || ask.memory > left.memory) {
    throw new ApiError(
      409,
      "insufficient_capacity",
      `${fqdn} has ${Math.max(0, left.cpus)} CPU(s) and ${Math.max(0, left.memory)} MiB of memory left (of ${cpus} and ${memory} MiB; its VMs that should run take ${used.cpus} and ${used.memory} MiB); this VM asks ${ask.cpus} and ${ask.memory} MiB`,
    );
  }
}

/** The host's drivers, as its agent reported them (capability 9), or undefined (older, or unknown). */
function _drivers(facts: Record<string, unknown>): DriverFacts[] | undefined {
  return Array.isArray(facts.drivers) ? (facts.drivers as DriverFacts[]) : undefined;
}

function _offered(drivers: DriverFacts[]): string {
  const ok = drivers.filter((d) => d.available);
  return ok.length ? ok.map((d) => `${d.name}${d.accel ? ` (${d.accel})` : ""}`).join(", ") : "none";
}

/** Every service name the host has or will have, other than this VM's: a port's `<vm>-<P>` must be new. */
async function _hostServiceNames(env: Bindings, db: Database, hostId: HostId): Promise<Map<string, string>> {
  const taken = new Map<string, string>();
  for (const s of await db.select({ name: services.name }).from(services).where(eq(services.hostId, hostId)))
    taken.set(s.name, "a service added with 'outpost service add'");
  const appRows = await db
    .select({ name: apps.name })
    .from(instances)
    .innerJoin(apps, eq(apps.id, instances.appId))
    .where(eq(instances.hostId, hostId));
  for (const a of appRows) taken.set(a.name, `the app '${a.name}'`);
  for (const v of await db
    .select({ name: vms.name, ports: vms.ports })
    .from(vms)
    .where(eq(vms.hostId, hostId)))
    for (const p of v.ports) taken.set(`${v.name}-${p}`, `port ${p} of the VM '${v.name}'`);
  const report = await hostObject(env, hostId).report();
  for (const s of report?.report.services ?? [])
    if (s.source === "agent" && !taken.has(s.name)) taken.set(s.name, "a service of the agent's own config");
  return taken;
}

/** Writes a change of desired state (generation + 1) or a new action, and pushes it to the host. */
async function _change(
  env: Bindings,
  db: Database,
  vm: VmRow,
  change: {
    desired?: VmRow["desired"];
    /** A new generation even when desired stays (start again a VM that stopped by itself). */
    bump?: boolean;
    stopTimeoutMs?: number;
    action?: { op: string; arg?: string };
  },
) {
  let action: { id: ActionId; op: string; arg?: string } | undefined;
  if (change.action) {
    if (vm.actions.length >= MAX_PENDING_ACTIONS)
      throw ApiError.conflict(
        `VM '${vm.name}' has ${vm.actions.length} actions its host has not applied yet; wait for its agent (is the host online?)`,
      );
    action = { id: newId("action"), ...change.action };
  }
  await db
    .update(vms)
    .set({
      ...(change.desired ? { desired: change.desired } : {}),
      ...(change.desired && (change.bump || change.desired !== vm.desired)
        ? { generation: vm.generation + 1 }
        : {}),
      ...(change.stopTimeoutMs !== undefined ? { stopTimeoutMs: change.stopTimeoutMs } : {}),
      ...(action ? { actions: [...vm.actions, action] } : {}),
      updatedAt: new Date(),
    })
    .where(eq(vms.id, vm.id));
  await hostObject(env, vm.hostId).pushWorkloads();
  return action;
}

function _requireRunning(vm: VmRow, what: string): void {
  if (vm.desired !== "running")
    throw ApiError.conflict(
      `cannot ${what} VM '${vm.name}': it is ${vm.desired}; start it first (outpost vm start)`,
    );
}

const ACTIONS = ["start", "stop", "restart", "pause", "resume"] as const;

export const vmRoutes = new Hono<AppEnv>()
  .get("/", valid("query", listQuery), async (c) => {
    const q = c.req.valid("query");
    const tenantId = c.var.caller.tenantId;
    const where: SQL[] = [eq(vms.tenantId, tenantId)];
    if (q.cluster !== undefined) where.push(eq(clusters.name, q.cluster));
    if (q.host !== undefined) {
      if (q.host.includes(".") || q.host.startsWith("host_"))
        where.push(eq(vms.hostId, (await resolveHost(c.var.db, tenantId, q.host)).id));
      else where.push(eq(hosts.name, q.host));
    }
    if (q.cursor) {
      const [name, id] = q.cursor.split("~") as [string, VmRow["id"]];
      where.push(or(gt(vms.name, name), and(eq(vms.name, name), gt(vms.id, id)))!);
    }
    const rows = await c.var.db
      .select({ vm: vms, host: hosts.name, cluster: clusters.name })
      .from(vms)
      .innerJoin(hosts, eq(hosts.id, vms.hostId))
      .innerJoin(clusters, eq(clusters.id, vms.clusterId))
      .where(and(...where))
      .orderBy(asc(vms.name), asc(vms.id))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return c.json({
      items: await _views(c.var.db, tenantId, page),
      nextCursor: rows.length > q.limit && last ? `${last.vm.name}~${last.vm.id}` : null,
    });
  })
  .post("/", requireRole("operator"), valid("json", createBody), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const body = c.req.valid("json");
    const host = await resolveHost(db, caller.tenantId, body.host);
    const cluster = await resolveCluster(db, caller.tenantId, host.clusterId);
    const fqdn = `${host.name}.${cluster.name}`;
    if (host.revokedAt) throw ApiError.conflict(`${fqdn} is revoked: it runs nothing new`);
    const [image] = await db
      .select({ image: vmImages, size: artifacts.size })
      .from(vmImages)
      .innerJoin(
        artifacts,
        and(eq(artifacts.tenantId, vmImages.tenantId), eq(artifacts.sha256, vmImages.sha256)),
      )
      .where(and(eq(vmImages.tenantId, caller.tenantId), eq(vmImages.name, body.image)));
    if (!image)
      throw ApiError.notFound(`VM image '${body.image}' (push it: outpost vm image push ${body.image} …)`);
    const [taken] = await db
      .select({ id: vms.id })
      .from(vms)
      .where(and(eq(vms.clusterId, cluster.id), eq(vms.name, body.name)));
    if (taken) throw ApiError.conflict(`cluster '${cluster.name}' has a VM named '${body.name}' already`);
    const hostVms = await db.select({ id: vms.id }).from(vms).where(eq(vms.hostId, host.id));
    if (hostVms.length >= MAX_VMS_PER_HOST)
      throw ApiError.conflict(`${fqdn} has ${hostVms.length} VMs, the most one host is given`);
    const names = await _hostServiceNames(c.env, db, host.id);
    // A VM and an app on one host are workloads of one set, unique by name (workloads.ts).
    if (names.get(body.name)?.startsWith("the app"))
      throw ApiError.conflict(`${fqdn} runs an app named '${body.name}'; give the VM another name`);
    for (const port of body.ports) {
      const service = `${body.name}-${port}`;
      if (!SERVICE_NAME_PATTERN.test(service))
        throw ApiError.badRequest(
          `name: '${service}' (port ${port}'s service) must be ${SERVICE_NAME_RULE}; use a shorter name`,
        );
      const owner = names.get(service);
      if (owner)
        throw ApiError.conflict(
          `${fqdn} has a service '${service}' already (${owner}); forward another port`,
        );
    }
    const drivers = _drivers(host.facts);
    if (drivers) {
      const chosen = body.driver
        ? drivers.find((d) => d.name === body.driver)
        : drivers.find((d) => d.available);
      if (!chosen?.available)
        throw new ApiError(
          409,
          "driver_unavailable",
          body.driver
            ? `${fqdn} cannot run ${body.driver}${chosen?.reason ? ` (${chosen.reason})` : ""}; it offers: ${_offered(drivers)}`
            : `${fqdn} offers no VM driver (${drivers.map((d) => `${d.name}: ${d.reason ?? "unavailable"}`).join("; ")})`,
        );
    }
    await _refuseOversized(db, host, fqdn, body);
    const id = newId("workload");
    await db.insert(vms).values({
      id,
      tenantId: caller.tenantId,
      clusterId: cluster.id,
      hostId: host.id,
      name: body.name,
      image: body.image,
      imageSha256: image.image.sha256,
      imageSize: image.size,
      cmdline: image.image.cmdline,
      cpus: body.cpus,
      memoryMib: body.memory,
      diskMib: body.disk,
      ports: body.ports,
      userData: body.userData ?? null,
      driver: body.driver ?? null,
      stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
      createdBy: caller.actor,
    });
    await grantArtifact(db, { tenantId: caller.tenantId, hostId: host.id, sha256: image.image.sha256 });
    await hostObject(c.env, host.id).pushWorkloads();
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "vm.create",
      target: id,
      outcome: "allowed",
      details: {
        vm: body.name,
        host: fqdn,
        image: body.image,
        sha256: image.image.sha256,
        cpus: body.cpus,
        memory: body.memory,
        disk: body.disk,
        ports: body.ports,
        ...(body.driver ? { driver: body.driver } : {}),
      },
    });
    return c.json({ vm: await _view(db, caller.tenantId, body.name, cluster.name) }, 201);
  })
  .get("/:name", valid("param", nameParam), valid("query", clusterQuery), async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ vm: await _view(c.var.db, c.var.caller.tenantId, name, c.req.valid("query").cluster) });
  })
  .post(
    "/:name/snapshots",
    requireRole("operator"),
    valid("param", nameParam),
    valid("query", clusterQuery),
    valid("json", snapshotBody),
    async (c) => {
      const caller = c.var.caller;
      const db = c.var.db;
      const { name } = c.req.valid("param");
      const { vm, cluster } = await _vm(db, caller.tenantId, name, c.req.valid("query").cluster);
      _requireRunning(vm, "snapshot");
      const snapshot =
        c.req.valid("json").name ?? `snap-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}`;
      const seen = (vm.observed as Observed).snapshots ?? [];
      if (seen.some((s) => s.name === snapshot))
        throw ApiError.conflict(
          `VM '${name}' has a snapshot '${snapshot}' already; remove it first or pick another name`,
        );
      const action = await _change(c.env, db, vm, { action: { op: "snapshot", arg: snapshot } });
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "vm.snapshot",
        target: vm.id,
        outcome: "allowed",
        details: { vm: name, snapshot },
      });
      return c.json({ vm: await _view(db, caller.tenantId, name, cluster), action: action! }, 201);
    },
  )
  .post(
    "/:name/restore",
    requireRole("operator"),
    valid("param", nameParam),
    valid("query", clusterQuery),
    valid("json", restoreBody),
    async (c) => {
      const caller = c.var.caller;
      const db = c.var.db;
      const { name } = c.req.valid("param");
      const { snapshot } = c.req.valid("json");
      const { vm, cluster } = await _vm(db, caller.tenantId, name, c.req.valid("query").cluster);
      _requireRunning(vm, "restore");
      _requireSnapshot(vm, snapshot);
      const action = await _change(c.env, db, vm, { action: { op: "restore", arg: snapshot } });
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "vm.restore",
        target: vm.id,
        outcome: "allowed",
        details: { vm: name, snapshot },
      });
      return c.json({ vm: await _view(db, caller.tenantId, name, cluster), action: action! });
    },
  )
  .delete(
    "/:name/snapshots/:snapshot",
    requireRole("operator"),
    valid("param", nameParam.extend({ snapshot: snapshotName })),
    valid("query", clusterQuery),
    async (c) => {
      const caller = c.var.caller;
      const db = c.var.db;
      const { name, snapshot } = c.req.valid("param");
      const { vm, cluster } = await _vm(db, caller.tenantId, name, c.req.valid("query").cluster);
      _requireRunning(vm, "remove a snapshot of");
      _requireSnapshot(vm, snapshot);
      const action = await _change(c.env, db, vm, { action: { op: "snapshot.rm", arg: snapshot } });
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "vm.snapshot.remove",
        target: vm.id,
        outcome: "allowed",
        details: { vm: name, snapshot },
      });
      return c.json({ vm: await _view(db, caller.tenantId, name, cluster), action: action! });
    },
  )
  // After snapshots and restore: `:op` would otherwise take their paths.
  .post(
    "/:name/:op",
    requireRole("operator"),
    valid("param", nameParam.extend({ op: z.enum(ACTIONS) })),
    valid("query", clusterQuery),
    valid("json", stopBody),
    async (c) => {
      const caller = c.var.caller;
      const db = c.var.db;
      const { name, op } = c.req.valid("param");
      const cluster = c.req.valid("query").cluster;
      const { vm, host, cluster: clusterName } = await _vm(db, caller.tenantId, name, cluster);
      const body = c.req.valid("json");
      if (body.timeoutMs !== undefined && op !== "stop")
        throw ApiError.badRequest("timeoutMs: only stop takes one");
      let action: Awaited<ReturnType<typeof _change>>;
      if (op === "start") {
        const [row] = await db.select().from(hosts).where(eq(hosts.id, vm.hostId));
        // Running already is a no-op; a VM that should run but stopped or failed is started again.
        const up =
          vm.desired === "running" &&
          ["created", "starting", "started", "paused"].includes(vm.state ?? "created");
        if (vm.desired !== "running")
          await _refuseOversized(
            db,
            row!,
            `${host}.${clusterName}`,
            { cpus: vm.cpus, memory: vm.memoryMib },
            vm.id,
          );
        action = up ? undefined : await _change(c.env, db, vm, { desired: "running", bump: true });
      } else if (op === "stop") {
        action = await _change(c.env, db, vm, {
          desired: "stopped",
          stopTimeoutMs: body.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
        });
      } else {
        if (vm.desired === "absent") throw ApiError.notFound(`VM '${name}'`);
        _requireRunning(vm, op);
        action = await _change(c.env, db, vm, { action: { op } });
      }
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: `vm.${op}`,
        target: vm.id,
        outcome: "allowed",
        details: {
          vm: name,
          host: `${host}.${clusterName}`,
          ...(op === "stop" ? { timeoutMs: body.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS } : {}),
        },
      });
      return c.json({ vm: await _view(db, caller.tenantId, name, clusterName), action: action ?? null });
    },
  )
  .delete(
    "/:name",
    requireRole("operator"),
    valid("param", nameParam),
    valid("query", clusterQuery),
    async (c) => {
      const caller = c.var.caller;
      const db = c.var.db;
      const { name } = c.req.valid("param");
      const { vm, host, cluster } = await _vm(db, caller.tenantId, name, c.req.valid("query").cluster);
      if (vm.desired !== "absent") await _change(c.env, db, vm, { desired: "absent", stopTimeoutMs: 0 });
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "vm.remove",
        target: vm.id,
        outcome: "allowed",
        details: { vm: name, host: `${host}.${cluster}` },
      });
      // Gone already when the agent reported it destroyed within the push.
      const [still] = await db.select({ id: vms.id }).from(vms).where(eq(vms.id, vm.id));
      return c.json({
        vm: still ? await _view(db, caller.tenantId, name, cluster) : null,
        removed: { name, host: `${host}.${cluster}` },
      });
    },
  );

/** 404 unless the agent reported the snapshot, or one is being taken under that name. */
function _requireSnapshot(vm: VmRow, snapshot: string): void {
  const seen = (vm.observed as Observed).snapshots ?? [];
  const pending = vm.actions.some((a) => a.op === "snapshot" && a.arg === snapshot);
  if (!seen.some((s) => s.name === snapshot) && !pending)
    throw ApiError.notFound(
      `snapshot '${snapshot}' of VM '${vm.name}' (see outpost vm snapshot ls ${vm.name})`,
    );
}
