// Roles are ordered: viewer reads; operator also acts on hosts (exec, streams, services, mesh); admin also
// manages clusters, sites, enrollment tokens and keys. A refusal is a 403 and an audit event.
import { createMiddleware } from "hono/factory";
import type { Role } from "../../schema/db/tables.ts";
import { audit } from "../db/audit.ts";
import type { AppEnv } from "../env.ts";
import { requestAction } from "../http/action-names.ts";
import { ApiError } from "../http/api-error.ts";

export const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function requireRole(min: Role) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const caller = c.var.caller;
    if (RANK[caller.role] < RANK[min]) {
      await audit(c.var.db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: requestAction(c),
        outcome: "denied",
        details: { reason: `role ${caller.role} < ${min}` },
      });
      throw ApiError.forbidden(`this needs the ${min} role; your key has ${caller.role}`);
    }
    await next();
  });
}
