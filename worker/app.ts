// The HTTP API. Routes are chained so that `typeof app` carries every path, input and output: the
// SDK's client is derived from it (hono `hc`), so client and server cannot drift.
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { apiKeyAuth } from "./auth/api-key.ts";
import { dashboardRoutes } from "./dashboard/index.tsx";
import { openDatabase } from "./db/database.ts";
import type { AppEnv } from "./env.ts";
import { requestOrigin } from "./expose/origins.ts";
import { ApiError } from "./http/api-error.ts";
import { auditRefusals } from "./http/audit-refusals.ts";
import { renderError } from "./http/on-error.ts";
import { agentRoutes } from "./routes/agent.ts";
import { appLogRoutes } from "./routes/app-logs.ts";
import { appRoutes, deployRoutes } from "./routes/apps.ts";
import { agentArtifactRoutes, artifactRoutes } from "./routes/artifacts.ts";
import { auditRoutes } from "./routes/audit.ts";
import { clusterRoutes, siteRoutes } from "./routes/clusters.ts";
import { enrollRoutes } from "./routes/enroll.ts";
import { envRoutes } from "./routes/env.ts";
import { exposureRoutes } from "./routes/exposures.ts";
import { fanoutRoutes } from "./routes/fanout.ts";
import { notOnApiOrigin, serveOrigin } from "./routes/gateway.ts";
import { hostLabelRoutes } from "./routes/host-labels.ts";
import { hostStreamRoutes, sessionRoutes } from "./routes/host-streams.ts";
import { hostRoutes } from "./routes/hosts.ts";
import { installRoutes } from "./routes/install.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { keeperRoutes } from "./routes/keepers.ts";
import { keyRoutes } from "./routes/keys.ts";
import { meshRoutesApi } from "./routes/mesh.ts";
import { recordingRoutes, settingsRoutes } from "./routes/recordings.ts";
import { rootRoutes } from "./routes/root.ts";
import { serviceRoutes } from "./routes/services.ts";
import { tenantDomainRoutes } from "./routes/tenant-domains.ts";
import { tenantRoutes } from "./routes/tenants.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { vmImageRoutes } from "./routes/vm-images.ts";
import { vmRoutes } from "./routes/vms.ts";
import { whoamiRoutes } from "./routes/whoami.ts";

/** API request bodies are small JSON documents; anything larger is refused before it is parsed. */
const MAX_BODY_BYTES = 64 * 1024;

const database = createMiddleware<AppEnv>(async (c, next) => {
  c.set("db", openDatabase(c.env));
  await next();
});

const smallBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError(413, "payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`);
  },
});

/** An artifact part is the one large body; its route checks its length against the upload's. */
const ARTIFACT_PART = /^\/v1\/artifacts\/uploads\/[^/]+\/parts\/[^/]+$/;

const limitBody = createMiddleware<AppEnv>(async (c, next) =>
  c.req.method === "PUT" && ARTIFACT_PART.test(c.req.path) ? next() : smallBody(c, next),
);

const v1 = new Hono<AppEnv>()
  .use(auditRefusals) // after the handler: a refusal to an authenticated caller becomes an audit event
  .route("/tenants", tenantRoutes)
  .route("/tenant-domains", tenantDomainRoutes)
  .route("/enroll", enrollRoutes)
  .route("/agent", agentRoutes)
  .route("/agent/artifacts", agentArtifactRoutes) // signed by the host (schema/protocol/artifact-fetch.ts)
  .route("/hosts", hostStreamRoutes) // authenticates itself, with its host lookup in the same round trip
  .use(apiKeyAuth)
  .route("/keys", keyRoutes)
  .route("/clusters", clusterRoutes)
  .route("/clusters", fanoutRoutes)
  .route("/sites", siteRoutes)
  .route("/tokens", tokenRoutes)
  .route("/hosts", hostRoutes)
  .route("/hosts", serviceRoutes)
  .route("/hosts", hostLabelRoutes)
  .route("/sessions", sessionRoutes)
  .route("/sessions", recordingRoutes)
  .route("/settings", settingsRoutes)
  .route("/mesh", meshRoutesApi)
  .route("/exposures", exposureRoutes)
  .route("/audit", auditRoutes)
  .route("/artifacts", artifactRoutes)
  .route("/vm-images", vmImageRoutes)
  .route("/vms", vmRoutes)
  .route("/apps", envRoutes)
  .route("/apps", appRoutes)
  .route("/apps", appLogRoutes)
  .route("/keepers", keeperRoutes)
  .route("/deploys", deployRoutes)
  .route("/jobs", jobRoutes)
  .route("/whoami", whoamiRoutes);

/**
 * An exposure's origin is served entirely by the exposure; the control plane's own hostnames are
 * decided from configuration before any lookup (expose/origins.ts), so no exposure can shadow the API.
 * Exposures stream bodies of any size: this comes before the API's body limit.
 */
const exposureOrigins = createMiddleware<AppEnv>(async (c, next) => {
  const origin = requestOrigin(c.env, c.req.header("host"));
  const served = origin.kind === "api" ? undefined : await serveOrigin(c, origin);
  if (served) return served;
  await next();
});

export const app = new Hono<AppEnv>()
  .use(database)
  .use(exposureOrigins)
  .all("/x/:name", notOnApiOrigin)
  .all("/x/:name/*", notOnApiOrigin)
  .use(limitBody)
  .get("/healthz", async (c) => {
    try {
      await c.var.db.run(sql`select 1`);
      return c.json({ ok: true, database: "ok" });
    } catch (err) {
      return c.json({ ok: false, database: `unreachable: ${err instanceof Error ? err.message : err}` }, 503);
    }
  })
  .route("/", rootRoutes)
  .route("/", installRoutes)
  .route("/v1", v1)
  .route("/", dashboardRoutes);

app.notFound((c) =>
  c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
);
app.onError(renderError);

export type AppType = typeof app;
