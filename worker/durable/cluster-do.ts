// ClusterDO — one Durable Object per cluster: presence, the mesh service registry and fan-out.
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env.ts";

export class ClusterDO extends DurableObject<Bindings> {
  override async fetch(_request: Request): Promise<Response> {
    return new Response("not found", { status: 404 });
  }
}
