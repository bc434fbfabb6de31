// Streams to a host, relayed by its Durable Object (client side of the protocol: schema/protocol/client-frames.ts):
//   GET /v1/hosts/:host/exec?spec=…      run a process
//   GET /v1/hosts/:host/pty?spec=…       a terminal (the login shell, or argv) on a pseudo-terminal
//   GET /v1/hosts/:host/tcp?target=…     a TCP stream to a service (or loopback port) the host allows
//   GET /v1/hosts/:host/vms/:vm/console?mode=write|read   a VM's serial console (operator)
//   GET /v1/hosts/:host/vms/:vm/logs?lines=&follow=       what that console printed (viewer)
// and GET /v1/sessions, who ran or opened what, where.
import { and, desc, eq, gte, lt, or, type SQL } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { type hosts, SESSION_KINDS, sessions, tenants } from "../../schema/db/tables.ts";
import { NAME_PATTERN, NAME_RULE, parseDuration, TARGET_PATTERN } from "../../schema/names.ts";
import type { ExecSpec } from "../../schema/protocol/exec-spec.ts";
import type { ConsoleMode } from "../../schema/protocol/frames.ts";
import { MAX_CONSOLE_LINES, MAX_STREAM_CREDIT, MIN_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import { decodePtySpec, type PtySpec } from "../../schema/protocol/pty-spec.ts";
import { bearer, checkKey, keyQuery, parseApiKey } from "../auth/api-key.ts";
import { requireRole } from "../auth/roles.ts";
import { AuthThrottle } from "../auth/throttle.ts";
import { crossSiteReason } from "../dashboard/same-origin.ts";
import { sessionCaller } from "../dashboard/session.ts";
import { audit } from "../db/audit.ts";
import { actorIds, actorView, nameIds } from "../db/names.ts";
import { hostOfKeyQuery, resolveHost } from "../db/resolve.ts";
import { ptySpec } from "../durable/host/stream-request.ts";
import { openOnHost } from "../durable/stubs.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { execSpecParam } from "../http/exec-spec-param.ts";
import { limitField } from "../http/fields.ts";
import { sentence, valid } from "../http/validate.ts";

type HostRow = typeof hosts.$inferSelect;
type StreamEnv = AppEnv & { Variables: { host: () => HostRow } };

/**
 * Checks the API key and looks the host up in one database round trip (a batch) rather than one after
 * the other: opening a stream is on the path of every exec, ssh connection and forwarded connection,
 * and against Turso each round trip crosses the network. Refusals keep the order every other route
 * has: the key (401) here, the role (403) next, the host (400 / 404) when the handler asks for it.
 */
const streamAuth = createMiddleware<StreamEnv>(async (c, next) => {
  const db = c.var.db;
  const authorization = c.req.header("authorization");
  // Only the terminal: the dashboard opens nothing else, so a cookie opens nothing else.
  if (authorization === undefined && c.req.header("cookie") !== undefined && c.req.path.endsWith("/pty"))
    return dashboardAuth(c, next);
  const token = bearer(authorization);
  const { secret, prefix } = parseApiKey(token);
  const throttle = new AuthThrottle(c.env, c.req.raw.headers);
  const ref = c.req.param("host") ?? "";
  let lookup: ReturnType<typeof hostOfKeyQuery> | undefined;
  let badRef: unknown;
  try {
    lookup = hostOfKeyQuery(db, prefix, ref);
  } catch (error) {
    badRef = error;
  }
  const [keys, found] = lookup
    ? await db.batch([keyQuery(db, prefix), lookup])
    : [await keyQuery(db, prefix)];
  const caller = await checkKey(db, secret, keys[0], `${c.req.method} ${c.req.path}`, throttle);
  c.set("caller", caller);
  c.set("host", () => {
    if (badRef !== undefined) throw badRef;
    const row = found?.[0]?.host;
    // The query already keeps to the key's tenant (prefixes are unique); checked again all the same.
    if (!row || row.tenantId !== caller.tenantId) throw ApiError.notFound(`host '${ref}'`);
    return row;
  });
  await next();
});

/**
 * The dashboard's browser terminal (worker/dashboard/): a browser's WebSocket cannot set Authorization,
 * so a request without one is authenticated by its dashboard session cookie instead. The cookie is
 * SameSite=Strict, and the upgrade must also come from the dashboard's own origin (a cross-site page
 * opening this WebSocket would otherwise ride the cookie: cross-site WebSocket hijacking).
 */
async function dashboardAuth(c: Context<StreamEnv>, next: () => Promise<void>) {
  const caller = await sessionCaller(c);
  if (!caller) throw ApiError.unauthorized("not signed in: send 'Authorization: Bearer opk_…'");
  c.set("caller", caller);
  const reason = crossSiteReason(c);
  if (reason) {
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: `${c.req.method} ${c.req.path}`,
      outcome: "denied",
      details: { reason: `cross-site WebSocket: ${reason}` },
    });
    throw ApiError.forbidden(`refused: ${reason}`);
  }
  const ref = c.req.param("host") ?? "";
  let row: HostRow | undefined;
  let failure: unknown;
  try {
    row = await resolveHost(c.var.db, caller.tenantId, ref);
  } catch (error) {
    failure = error;
  }
  c.set("host", () => {
    if (failure !== undefined || !row) throw failure ?? ApiError.notFound(`host '${ref}'`);
    return row;
  });
  await next();
}

/** Whether the caller's tenant records its sessions (an unknown host is refused, 404, before it is read). */
async function recordsSessions(c: Context<StreamEnv>): Promise<boolean> {
  c.var.host();
  const [tenant] = await c.var.db
    .select({ recording: tenants.recording })
    .from(tenants)
    .where(eq(tenants.id, c.var.caller.tenantId));
  return tenant?.recording ?? true;
}

/** Hands a checked stream request to the host's Durable Object, with who is asking. */
async function toHost(
  c: Context<StreamEnv>,
  open:
    | { kind: "exec"; spec: ExecSpec }
    | { kind: "pty"; spec: PtySpec; record: boolean }
    | { kind: "tcp"; target: string; credit?: number }
    | {
        kind: "console";
        vm: string;
        mode: ConsoleMode;
        lines: number;
        follow: boolean;
        credit?: number;
      },
): Promise<Response> {
  const caller = c.var.caller;
  const host = c.var.host();
  if (host.revokedAt) throw ApiError.conflict(`host '${host.name}' is revoked`);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "this endpoint takes a WebSocket upgrade");
  }
  // Encoded from the checked values alone (stream-request.ts), never from the caller's headers.
  return openOnHost(c.env, host.id, {
    ...open,
    tenantId: caller.tenantId,
    actor: caller.actor,
    hostName: host.name,
  });
}

const tcpQuery = z.object({
  target: z
    .string()
    .regex(TARGET_PATTERN, { error: "must be a service name or a port number 1-65535" })
    .refine((t) => !/^\d+$/.test(t) || Number(t) <= 65535, { error: "port must be 1-65535" }),
  credit: z.coerce.number().int().min(MIN_STREAM_CREDIT).max(MAX_STREAM_CREDIT).optional(),
});

/** A VM's name in the path: a DNS label (names.ts), which no path on the host can be made of. */
function vmParam(c: Context<StreamEnv>): string {
  const vm = c.req.param("vm") ?? "";
  if (!NAME_PATTERN.test(vm)) throw ApiError.badRequest(`vm: must be a VM name, ${NAME_RULE}`);
  return vm;
}

const consoleQuery = z.object({
  mode: z.enum(["write", "read"], { error: "must be write or read" }).optional(),
  lines: z.coerce.number().int().min(0).max(MAX_CONSOLE_LINES).optional(),
  credit: z.coerce.number().int().min(MIN_STREAM_CREDIT).max(MAX_STREAM_CREDIT).optional(),
});

/** How many lines `vm logs` shows when not told. */
const DEFAULT_CONSOLE_LINES = 100;

const consoleLogsQuery = z.object({
  lines: z.coerce.number().int().min(0).max(MAX_CONSOLE_LINES).optional(),
  follow: z.enum(["true", "false", "1", "0"], { error: "must be true or false" }).optional(),
  credit: z.coerce.number().int().min(MIN_STREAM_CREDIT).max(MAX_STREAM_CREDIT).optional(),
});

/** Mounted before the API-key middleware: streamAuth authenticates these itself. */
export const hostStreamRoutes = new Hono<StreamEnv>()
  .get("/:host/tcp", streamAuth, requireRole("operator"), valid("query", tcpQuery), async (c) => {
    const { target, credit } = c.req.valid("query");
    return toHost(c, { kind: "tcp", target, ...(credit ? { credit } : {}) });
  })
  // Operators only, read-only or not: attaching is joining a live session (Teleport lets only
  // operators join); a viewer reads the same output with `vm logs -f`.
  .get(
    "/:host/vms/:vm/console",
    streamAuth,
    requireRole("operator"),
    valid("query", consoleQuery),
    async (c) => {
      const { mode, lines, credit } = c.req.valid("query");
      return toHost(c, {
        kind: "console",
        vm: vmParam(c),
        mode: mode ?? "write",
        lines: lines ?? 0,
        follow: true,
        ...(credit ? { credit } : {}),
      });
    },
  )
  .get(
    "/:host/vms/:vm/logs",
    streamAuth,
    requireRole("viewer"),
    valid("query", consoleLogsQuery),
    async (c) => {
      const { lines, follow, credit } = c.req.valid("query");
      return toHost(c, {
        kind: "console",
        vm: vmParam(c),
        mode: "history",
        lines: lines ?? DEFAULT_CONSOLE_LINES,
        follow: follow === "true" || follow === "1",
        ...(credit ? { credit } : {}),
      });
    },
  )
  .get("/:host/exec", streamAuth, requireRole("operator"), async (c) => {
    const spec = execSpecParam(c.req.query("spec"));
    if (spec.record && !(await recordsSessions(c))) {
      throw new ApiError(
        409,
        "recording_off",
        "recording is off for this tenant: run it without --record, or have an admin turn it on ('outpost recording on')",
      );
    }
    return toHost(c, { kind: "exec", spec });
  })
  .get("/:host/pty", streamAuth, requireRole("operator"), async (c) => {
    let raw: unknown;
    try {
      raw = decodePtySpec(c.req.query("spec") ?? "");
    } catch {
      throw ApiError.badRequest("spec: must be base64url JSON {cols, rows, argv?, cwd?, env?, term?}");
    }
    const parsed = ptySpec.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw ApiError.badRequest(`spec.${i.path.join(".") || "cols"}: ${sentence(i)}`);
    }
    return toHost(c, { kind: "pty", spec: parsed.data, record: await recordsSessions(c) });
  });

/** A session page's cursor: the last row's start (ms) and id, so rows started in one ms are not skipped. */
const SESSION_CURSOR = /^(\d{1,15})~(ses_[0-9a-z]{16})$/;

const sessionQuery = z.object({
  limit: limitField,
  cursor: z
    .string()
    .regex(SESSION_CURSOR, { error: "must be a nextCursor this listing returned" })
    .optional(),
  host: z.string().max(200).optional(),
  kind: z.enum(SESSION_KINDS, { error: `must be one of ${SESSION_KINDS.join(", ")}` }).optional(),
  /** Sessions started at or after: an ISO 8601 time, or a duration back from now (10m, 2h, 7d). */
  since: z
    .string()
    .max(64)
    .transform((text, ctx) => {
      const ago = parseDuration(text);
      const at = ago !== null ? Date.now() - ago : /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
      if (Number.isNaN(at)) {
        ctx.addIssue({
          code: "custom",
          message: "must be an ISO 8601 time or a duration like 10m, 2h or 7d",
        });
        return z.NEVER;
      }
      return new Date(at);
    })
    .optional(),
});

export const sessionRoutes = new Hono<AppEnv>().get("/", valid("query", sessionQuery), async (c) => {
  const { limit, cursor, host, kind, since } = c.req.valid("query");
  const tenantId = c.var.caller.tenantId;
  const db = c.var.db;
  const where: SQL[] = [eq(sessions.tenantId, tenantId)];
  if (host) where.push(eq(sessions.hostId, (await resolveHost(db, tenantId, host)).id));
  if (kind) where.push(eq(sessions.kind, kind));
  if (since) where.push(gte(sessions.startedAt, since));
  const after = cursor ? SESSION_CURSOR.exec(cursor) : null;
  if (after) {
    const at = new Date(Number(after[1]));
    where.push(
      or(
        lt(sessions.startedAt, at),
        and(eq(sessions.startedAt, at), lt(sessions.id, after[2] as (typeof sessions.$inferSelect)["id"])),
      )!,
    );
  }
  const rows = await db
    .select()
    .from(sessions)
    .where(and(...where))
    .orderBy(desc(sessions.startedAt), desc(sessions.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const names = await nameIds(db, tenantId, [
    ...page.map((s) => s.hostId),
    ...page.flatMap((s) => actorIds(s.actor)),
  ]);
  const last = page[page.length - 1];
  return c.json({
    sessions: page.map((s) => ({ ...s, host: names.get(s.hostId) ?? null, by: actorView(s.actor, names) })),
    nextCursor: rows.length > limit && last ? `${last.startedAt.getTime()}~${last.id}` : null,
  });
});
