// The Worker's upgrade into a ClusterDO that runs a fan-out (routes/fanout.ts → ClusterDO.fetch). A
// small plan travels in the request itself, as the only header the object reads, so the fan-out costs
// no prepareFanout call and no storage write and delete; a plan over INLINE_PLAN_CHARS (about 150
// hosts) is stored first (fanout-plans.ts) and the request names it. Either way the request is built
// here from the checked values alone, never from a caller's request, so no header of a client ever
// reaches the object (a client-sent copy of the header is dropped with the rest of its headers); the
// object validates the plan again since anything holding the namespace binding can call it.
import { z } from "zod";
import { isId, type TenantId } from "../../../schema/ids.ts";
import { MAX_FANOUT_PARALLEL } from "../../../schema/protocol/fanout-events.ts";
import { isHostId } from "../../../schema/protocol/index.ts";
import { ApiError } from "../../http/api-error.ts";
import { execSpec } from "../host/stream-request.ts";
import type { FanoutPlan } from "./fanout.ts";

/** The header the object reads, and the largest plan (URI-encoded JSON) sent in it. */
export const PLAN_HEADER = "x-outpost-fanout-plan";
export const INLINE_PLAN_CHARS = 16 * 1024;

const planSchema = z.object({
  tenantId: z.custom<TenantId>((v) => isId("tenant", v), { error: "must be a tenant id" }),
  actor: z.string().min(1),
  spec: execSpec,
  maxParallel: z.number().int().min(1).max(MAX_FANOUT_PARALLEL),
  hosts: z
    .array(
      z.object({
        id: z.string().refine(isHostId, { error: "must be a host id" }),
        fqdn: z.string().min(1),
        online: z.boolean(),
      }),
    )
    .min(1),
  audit: z.object({
    target: z.string().min(1),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.array(z.string())])),
  }),
});

/** The plan in the request when it is small, else null: the caller stores it and names it (`/fanout/<id>`). */
export function inlineFanoutRequest(plan: FanoutPlan): Request | null {
  const text = encodeURIComponent(JSON.stringify(plan));
  if (text.length > INLINE_PLAN_CHARS) return null;
  return new Request("https://cluster.internal/fanout", {
    headers: { upgrade: "websocket", [PLAN_HEADER]: text },
  });
}

/** The upgrade that runs the stored plan `id`. */
export function storedFanoutRequest(id: string): Request {
  return new Request(`https://cluster.internal/fanout/${id}`, { headers: { upgrade: "websocket" } });
}

/**
 * What the request asks for: an inline plan (validated), or the id of a stored one; ApiError 400 for
 * anything else (not an upgrade, another path, a header that is not a plan).
 */
export function decodeFanoutRequest(request: Request): { plan: FanoutPlan } | { id: string } {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
    throw new ApiError(400, "bad_request", "the ClusterDO takes fan-out upgrades only");
  const path = new URL(request.url).pathname;
  const id = /^\/fanout\/(fan_[A-Za-z0-9]{1,64})$/.exec(path)?.[1];
  if (id) return { id };
  if (path !== "/fanout") throw new ApiError(400, "bad_request", "the ClusterDO takes fan-out upgrades only");
  let raw: unknown;
  try {
    raw = JSON.parse(decodeURIComponent(request.headers.get(PLAN_HEADER) ?? ""));
  } catch {
    throw ApiError.badRequest(`Cannot run the fan-out: ${PLAN_HEADER} is missing or not JSON`, "bad_fanout");
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw ApiError.badRequest(
      `Cannot run the fan-out: ${i.path.join(".") || "plan"}: ${i.message}`,
      "bad_fanout",
    );
  }
  return { plan: parsed.data as FanoutPlan };
}
