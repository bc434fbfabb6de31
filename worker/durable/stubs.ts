// The Worker's calls into its Durable Objects, in one place: route files reach the objects through
// these (never through each other), and every call is a typed RPC method except the WebSocket upgrades,
// which go through the one stream-request codec (host/stream-request.ts).

import type { ClusterId } from "../../schema/ids.ts";
import type { Bindings } from "../env.ts";
import { encodeStreamRequest, type StreamRequest } from "./host/stream-request.ts";

/** The host's object. */
export function hostObject(env: Bindings, hostId: string) {
  return env.HOST.get(env.HOST.idFromName(hostId));
}

/** The cluster's registry object. */
export function clusterObject(env: Bindings, clusterId: string) {
  return env.CLUSTER.get(env.CLUSTER.idFromName(clusterId));
}

/** Hands a checked upgrade (agent connect, stream open) to the host's object, in a request of our own. */
export function openOnHost(env: Bindings, hostId: string, req: StreamRequest): Promise<Response> {
  return hostObject(env, hostId).fetch(encodeStreamRequest(req));
}

/** Has the cluster's registry reload and push the change to the running agents it concerns. */
export async function syncCluster(env: Bindings, clusterId: ClusterId): Promise<void> {
  await clusterObject(env, clusterId).sync(clusterId);
}

/** Tells the host's object to drop a live agent connection (a no-op when none is open). */
export async function disconnectHost(env: Bindings, hostId: string, reason: "revoked" | "deleted") {
  await hostObject(env, hostId).disconnect(reason);
}
