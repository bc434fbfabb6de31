// ClusterDO — one Durable Object per cluster: the cluster's registry of services and mesh routes. The
// database is the record; this object keeps the cluster's current view in its storage, computes each
// host's config from it, and pushes changes to the HostDOs of the hosts they concern. HostDOs ask it
// for their host's config when an agent connects, and for a route when an agent opens a mesh stream.
// It also runs fan-out execs (cluster/fanout.ts): one client socket, an exec on every selected host,
// and drives multi-host rollouts (cluster/rollout.ts) from its alarm, the cursor in its storage.
import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { clusters, hosts, meshRoutes, services } from "../../schema/db/tables.ts";
import type { ClusterId, MeshRouteId, TenantId } from "../../schema/ids.ts";
import type { HostConfig } from "../../schema/protocol/index.ts";
import type { HostId } from "../../schema/protocol/keys.ts";
import { openDatabase } from "../db/database.ts";
import type { Bindings } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { type FanoutPlan, FanoutRun } from "./cluster/fanout.ts";
import { storePlan, takePlan } from "./cluster/fanout-plans.ts";
import { decodeFanoutRequest } from "./cluster/fanout-request.ts";
import { FanoutSessions } from "./cluster/fanout-sessions.ts";
import { newCursor, type RolloutCursor, type RolloutPlan, step } from "./cluster/rollout.ts";
import { type RpcResult, rpcResult } from "./rpc-result.ts";

export interface RouteEntry {
  id: MeshRouteId;
  tenantId: TenantId;
  fromHostId: HostId;
  listen: string;
  toHostId: HostId;
  /** `<host>.<cluster>`, for logs and for the agent's listing. */
  toName: string;
  toService: string;
}

export interface Registry {
  clusterId: ClusterId;
  services: Array<{ hostId: HostId; name: string; target: string }>;
  routes: RouteEntry[];
}

/** What one host's agent is told (the `config` frame's, frames.ts). */
function configFor(registry: Registry | undefined, hostId: string): HostConfig {
  return {
    services: (registry?.services ?? [])
      .filter((s) => s.hostId === hostId)
      .map(({ name, target }) => ({ name, target })),
    listeners: (registry?.routes ?? [])
      .filter((r) => r.fromHostId === hostId)
      .map((r) => ({ route: r.id, listen: r.listen, to: `${r.toName}:${r.toService}` })),
  };
}

/** How often a running rollout is looked at. */
const ROLLOUT_TICK_MS = 400;

export class ClusterDO extends DurableObject<Bindings> {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    // A rollout whose alarm was lost (a restart between ticks) is picked up again.
    void ctx.blockConcurrencyWhile(async () => {
      const running = await ctx.storage.list({ prefix: "rollout:", limit: 1 });
      if (running.size && (await ctx.storage.getAlarm()) === null) await ctx.storage.setAlarm(Date.now());
    });
  }

  /** Starts driving a rollout the Worker wrote (routes/apps.ts); it goes on without the caller. */
  async startRollout(plan: RolloutPlan): Promise<void> {
    await this.ctx.storage.put(`rollout:${plan.deploymentId}`, newCursor(plan));
    await this.ctx.storage.setAlarm(Date.now());
  }

  /** One tick of every running rollout; again soon while any runs. */
  override async alarm(): Promise<void> {
    const db = openDatabase(this.env);
    const running = await this.ctx.storage.list<RolloutCursor>({ prefix: "rollout:" });
    for (const [key, cursor] of running) {
      try {
        const next = await step(this.env, db, cursor);
        if (next) await this.ctx.storage.put(key, next);
        else await this.ctx.storage.delete(key);
      } catch (error) {
        // Kept as it was: the next tick tries this step again (every step is safe to repeat).
        console.error("rollout step failed", key, error);
      }
    }
    if ((await this.ctx.storage.list({ prefix: "rollout:", limit: 1 })).size)
      await this.ctx.storage.setAlarm(Date.now() + ROLLOUT_TICK_MS);
  }

  // ## Fetch: the fan-out upgrade only

  /**
   * `/fanout` with the plan in the request (a WebSocket upgrade, cluster/fanout-request.ts), or
   * `/fanout/<id>`: runs the plan `prepareFanout` stored under `id`, once. A stored plan is taken out
   * of storage before it runs, so a replayed upgrade finds nothing (404).
   */
  override async fetch(request: Request): Promise<Response> {
    let plan: FanoutPlan | undefined;
    try {
      const asked = decodeFanoutRequest(request);
      plan = "plan" in asked ? asked.plan : await takePlan(this.ctx.storage, asked.id);
      if (!plan) throw ApiError.notFound(`fan-out '${"id" in asked ? asked.id : ""}'`);
    } catch (err) {
      if (err instanceof ApiError) return err.toResponse();
      throw err;
    }
    // The fan-out's audit event and every host's session, one batch written beside the runs (as a
    // HostDO writes a stream's session beside it): the run stops if it fails (cluster/fanout.ts).
    const online = plan.hosts.filter((h) => h.online).map((h) => h.id);
    const sessions = new FanoutSessions(openDatabase(this.env), plan.tenantId, plan.actor, online);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    server.accept();
    const run = new FanoutRun(server, this.env, plan, sessions);
    this.ctx.waitUntil(
      run.run().catch((err) => {
        console.error("fan-out failed", err);
        run.stop();
      }),
    );
    return new Response(null, { status: 101, webSocket: client });
  }

  // ## RPC (typed calls from the Worker and the HostDOs)

  /** Keeps a checked fan-out plan for the upgrade that runs it (fetch), under a new id. */
  async prepareFanout(plan: FanoutPlan): Promise<{ id: string }> {
    const id = `fan_${crypto.randomUUID().replaceAll("-", "")}`;
    await storePlan(this.ctx.storage, id, plan);
    return { id };
  }

  /** Reloads the registry and pushes the new config to every host whose config changed. */
  async sync(clusterId: ClusterId): Promise<{ pushed: string[] }> {
    return this.#sync(clusterId);
  }

  /** What `hostId`'s agent is told, from the cluster's current registry. */
  async config(clusterId: ClusterId, hostId: HostId): Promise<HostConfig> {
    return configFor(await this.#registry(clusterId), hostId);
  }

  /** The mesh route `id`, or ApiError 404 (as an RpcResult: rpc-result.ts). */
  async route(clusterId: ClusterId, id: string): Promise<RpcResult<RouteEntry>> {
    return rpcResult(async () => {
      const route = (await this.#registry(clusterId)).routes.find((r) => r.id === id);
      if (!route) throw ApiError.notFound(`mesh route '${id}'`);
      return route;
    });
  }

  async #registry(clusterId: ClusterId): Promise<Registry> {
    return (await this.ctx.storage.get<Registry>("registry")) ?? (await this.#load(clusterId));
  }

  async #load(clusterId: ClusterId): Promise<Registry> {
    const db = openDatabase(this.env);
    const [svc, routes, names, cluster] = await Promise.all([
      db
        .select({ hostId: services.hostId, name: services.name, target: services.target })
        .from(services)
        .innerJoin(hosts, eq(services.hostId, hosts.id))
        .where(eq(hosts.clusterId, clusterId)),
      db.select().from(meshRoutes).where(eq(meshRoutes.clusterId, clusterId)),
      db.select({ id: hosts.id, name: hosts.name }).from(hosts).where(eq(hosts.clusterId, clusterId)),
      db.select({ name: clusters.name }).from(clusters).where(eq(clusters.id, clusterId)),
    ]);
    const byId = new Map(names.map((h) => [h.id, `${h.name}.${cluster[0]?.name ?? clusterId}`]));
    const registry: Registry = {
      clusterId,
      services: svc,
      routes: routes.map((r) => ({
        id: r.id,
        tenantId: r.tenantId,
        fromHostId: r.fromHostId,
        listen: r.listen,
        toHostId: r.toHostId,
        toName: byId.get(r.toHostId) ?? r.toHostId,
        toService: r.toService,
      })),
    };
    await this.ctx.storage.put("registry", registry);
    return registry;
  }

  /** Reloads the registry and pushes the new config to every host whose config changed. */
  async #sync(clusterId: ClusterId): Promise<{ pushed: string[] }> {
    const before = await this.ctx.storage.get<Registry>("registry");
    const after = await this.#load(clusterId);
    const touched = new Set<string>();
    for (const r of [before, after]) {
      for (const s of r?.services ?? []) touched.add(s.hostId);
      for (const route of r?.routes ?? []) touched.add(route.fromHostId);
    }
    const pushed: string[] = [];
    for (const hostId of touched) {
      if (JSON.stringify(configFor(before, hostId)) === JSON.stringify(configFor(after, hostId))) continue;
      await this.env.HOST.get(this.env.HOST.idFromName(hostId)).pushConfig();
      pushed.push(hostId);
    }
    return { pushed };
  }
}
