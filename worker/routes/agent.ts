// GET /v1/agent/connect?host=<id>: the agent's WebSocket, handed to its host's Durable Object. No API
// key here: the agent proves who it is inside the connection, by signing its hello with its host key.
import { Hono } from "hono";
import { isHostId } from "../../schema/protocol/index.ts";
import { openOnHost } from "../durable/stubs.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";

export const agentRoutes = new Hono<AppEnv>().get("/connect", async (c) => {
  const host = c.req.query("host") ?? "";
  if (!isHostId(host)) throw ApiError.badRequest("host: must be the host id from enrollment (host_…)");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "this endpoint takes a WebSocket upgrade");
  }
  // A request of our own (stream-request.ts), not the caller's: the DO reads only what was checked.
  return openOnHost(c.env, host, { kind: "agent", hostId: host });
});
