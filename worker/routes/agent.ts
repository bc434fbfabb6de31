// GET /v1/agent/connect?host=<id>: the agent's WebSocket, handed to its host's Durable Object. No API
// key here: the agent proves who it is inside the connection, by signing its hello with its host key.
import { Hono } from "hono";
import { isHostId } from "../../schema/protocol/index.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";

export const agentRoutes = new Hono<AppEnv>().get("/connect", async (c) => {
  const host = c.req.query("host") ?? "";
  if (!isHostId(host)) throw ApiError.badRequest("host: must be the host id from enrollment (host_…)");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "this endpoint takes a WebSocket upgrade");
  }
  const stub = c.env.HOST.get(c.env.HOST.idFromName(host));
  // From scratch, not the caller's headers: the DO reads only what the Worker checked.
  const headers = new Headers({ upgrade: "websocket", "x-outpost-host": host });
  return stub.fetch("https://host.internal/agent", { headers });
});
