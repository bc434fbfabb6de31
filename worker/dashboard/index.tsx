// The dashboard, served at `/` for browsers (README "Dashboard"): server-rendered pages (hono JSX) with
// small client scripts (client/, bundled by scripts/build.ts). Signed in by a cookie session
// (session.ts); every state-changing request is same-origin (same-origin.ts) and carries the session's
// CSRF token. Each route names its middleware itself instead of `use`: mounted at `/`, a `use` would
// also run for the API's unmatched paths.
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { authenticate } from "../auth/api-key.ts";
import { RANK } from "../auth/roles.ts";
import { constantTimeEqual } from "../auth/secrets.ts";
import { audit } from "../db/audit.ts";
import type { AppEnv } from "../env.ts";
import { exposureDomain, originUrl } from "../expose/origins.ts";
import { ApiError } from "../http/api-error.ts";
import { serveRecording } from "../routes/recordings.ts";
import { serveAsset } from "./assets.ts";
import {
  findSession,
  hostDetail,
  hostFilter,
  listAudit,
  listExposures,
  listHosts,
  removeExposure,
} from "./data.ts";
import { pageHeaders } from "./headers.ts";
import { render } from "./layout.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { ExposuresPage } from "./pages/exposures.tsx";
import { HostPage } from "./pages/host.tsx";
import { HostsPage } from "./pages/hosts.tsx";
import { PlaybackPage } from "./pages/playback.tsx";
import { SignInPage } from "./pages/signin.tsx";
import { TerminalPage } from "./pages/terminal.tsx";
import { crossSiteReason } from "./same-origin.ts";
import { type DashboardCaller, endSession, sessionCaller, startSession } from "./session.ts";

type DashEnv = AppEnv;

/** The signed-in session (signedIn put it in `caller`, where the shared role checks find it too). */
function session(c: Context<AppEnv>): DashboardCaller {
  return c.var.caller as DashboardCaller;
}

function wantsJson(c: Context): boolean {
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

/**
 * A signed-in session, or: a redirect to the sign-in page (`pages`: GET pages that did not ask for
 * JSON), 401 otherwise (data for scripts, state-changing requests).
 */
function signedInOr(pages: boolean) {
  return createMiddleware<DashEnv>(async (c, next) => {
    const found = await sessionCaller(c);
    if (!found) {
      if (pages && c.req.method === "GET" && !wantsJson(c)) return c.redirect("/signin", 302);
      throw ApiError.unauthorized("not signed in (or the session ended): sign in again at /signin");
    }
    c.set("caller", found);
    await next();
  });
}
const signedIn = signedInOr(true);
const signedInData = signedInOr(false);

/** State-changing requests: same-origin, and the session's CSRF token in the form or a header. */
const csrfChecked = createMiddleware<DashEnv>(async (c, next) => {
  const signed = session(c);
  const reason = crossSiteReason(c);
  let token = c.req.header("x-csrf-token") ?? "";
  if (!token && !reason) {
    const form = await c.req.parseBody();
    token = typeof form.csrf === "string" ? form.csrf : "";
  }
  if (reason || !constantTimeEqual(token, signed.csrf)) {
    await audit(c.var.db, {
      tenantId: signed.tenantId,
      actor: signed.actor,
      action: `dashboard.${c.req.path.slice(1).replace(/\//g, ".")}`,
      outcome: "denied",
      details: { reason: reason ?? "missing or wrong CSRF token" },
    });
    throw ApiError.forbidden(`refused: ${reason ?? "missing or wrong CSRF token"}`);
  }
  await next();
});

const atLeastOperator = createMiddleware<DashEnv>(async (c, next) => {
  if (RANK[session(c).role] < RANK.operator)
    throw ApiError.forbidden(`this needs the operator role; your key has ${session(c).role}`);
  await next();
});

export const dashboardRoutes = new Hono<DashEnv>()
  .get("/assets/:file", pageHeaders, (c) => serveAsset(c))
  .get("/signin", pageHeaders, (c) => render(c, <SignInPage />))
  .post("/signin", pageHeaders, async (c) => {
    // Login CSRF: a page elsewhere must not sign this browser in to its own tenant.
    const reason = crossSiteReason(c);
    if (reason) throw ApiError.forbidden(`refused: ${reason}`);
    const form = await c.req.parseBody();
    const key = typeof form.key === "string" ? form.key.trim() : "";
    let caller: Awaited<ReturnType<typeof authenticate>>;
    try {
      caller = await authenticate(c, key || null, "dashboard.signin");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401)
        return render(c, <SignInPage error="That API key was not accepted." />, 401);
      throw error;
    }
    await startSession(c, caller, null);
    await audit(c.var.db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "dashboard.signin",
      outcome: "allowed",
    });
    return c.redirect("/", 303);
  })
  .get("/", async (c, next) => {
    if (!wantsJson(c)) return next();
    return c.json({ name: "outpost", api: "/v1", dashboard: "/", health: "/healthz" });
  })
  .get("/", pageHeaders, signedIn, async (c) => {
    const filter = hostFilter(c.req.query());
    const rows = await listHosts(c.var.db, session(c).tenantId, filter);
    return render(c, <HostsPage caller={session(c)} hosts={rows} filter={filter} />);
  })
  .get("/hosts.json", pageHeaders, signedInData, async (c) => {
    const rows = await listHosts(c.var.db, session(c).tenantId, hostFilter(c.req.query()));
    return c.json({ items: rows });
  })
  .get("/hosts/:host", pageHeaders, signedIn, async (c) => {
    const detail = await hostDetail(c.var.db, session(c).tenantId, c.req.param("host"));
    return render(c, <HostPage caller={session(c)} detail={detail} />);
  })
  .get("/hosts/:host/terminal", pageHeaders, signedIn, atLeastOperator, async (c) => {
    const { fqdn } = await hostDetail(c.var.db, session(c).tenantId, c.req.param("host"));
    return render(c, <TerminalPage caller={session(c)} fqdn={fqdn} />);
  })
  .get("/sessions/:id", pageHeaders, signedIn, atLeastOperator, async (c) => {
    const found = await findSession(c.var.db, session(c).tenantId, c.req.param("id"));
    if (!found) throw ApiError.notFound(`session '${c.req.param("id").slice(0, 64)}'`);
    const { fqdn } = await hostDetail(c.var.db, session(c).tenantId, found.hostId);
    return render(c, <PlaybackPage caller={session(c)} session={found} fqdn={fqdn} />);
  })
  .get("/sessions/:id/recording", pageHeaders, signedInData, atLeastOperator, (c) =>
    serveRecording(c, c.req.param("id")),
  )
  .get("/exposures", pageHeaders, signedIn, async (c) => {
    const rows = await listExposures(c.var.db, session(c).tenantId);
    const domain = exposureDomain(c.env);
    const urlOf = (name: string) => (domain ? originUrl(c.env, c.req.url, `${name}.${domain}`) : null);
    return render(c, <ExposuresPage caller={session(c)} rows={rows} urlOf={urlOf} />);
  })
  .post("/exposures/:name/remove", pageHeaders, signedInData, csrfChecked, atLeastOperator, async (c) => {
    const signed = session(c);
    const name = c.req.param("name");
    const row = await removeExposure(c.var.db, signed.tenantId, name);
    if (!row) throw ApiError.notFound(`exposure '${name.slice(0, 64)}'`);
    await audit(c.var.db, {
      tenantId: signed.tenantId,
      actor: signed.actor,
      action: "expose.remove",
      target: row.id,
      outcome: "allowed",
      details: { name },
    });
    return c.redirect("/exposures", 303);
  })
  .get("/audit", pageHeaders, signedIn, async (c) => {
    const rows = await listAudit(c.var.db, session(c).tenantId);
    return render(c, <AuditPage caller={session(c)} rows={rows} />);
  })
  .post("/signout", pageHeaders, signedInData, csrfChecked, async (c) => {
    const signed = session(c);
    await endSession(c, signed);
    await audit(c.var.db, {
      tenantId: signed.tenantId,
      actor: signed.actor,
      action: "dashboard.signout",
      outcome: "allowed",
    });
    return c.redirect("/signin", 303);
  });
