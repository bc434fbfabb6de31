// HostDO — one Durable Object per host: holds the agent's WebSocket (hibernation API), relays streams
// between clients and the agent, and tracks liveness with alarms.
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env.ts";

export class HostDO extends DurableObject<Bindings> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/disconnect") {
      const reason = url.searchParams.get("reason") ?? "disconnected";
      for (const ws of this.ctx.getWebSockets()) ws.close(4403, `host ${reason}`);
      return Response.json({ closed: true });
    }
    return new Response("not found", { status: 404 });
  }
}
