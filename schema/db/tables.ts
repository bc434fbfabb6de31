// The system of record: every table Outpost keeps in libSQL. Times are integer milliseconds since the
// epoch (drizzle `timestamp_ms`), ids are prefixed random text (see ../ids.ts), JSON columns hold small
// maps only. Secrets never appear here: API keys and enrollment tokens are stored as a lookup prefix
// plus a SHA-256 hash (they are 160+ bits of randomness, so a slow KDF buys nothing).
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type {
  ActionId,
  ApiKeyId,
  AppId,
  ArtifactUploadId,
  ClusterId,
  DeploymentId,
  ExposureId,
  JobId,
  MeshRouteId,
  ServiceId,
  SessionId,
  SiteId,
  TenantId,
  TokenId,
  WorkloadId,
} from "../ids.ts";
import type { HostId, HostPublicKey } from "../protocol/keys.ts";
import type { KeeperPublicKey, RecipientId } from "../secrets/recipient-key.ts";

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const HOST_STATUSES = ["pending", "online", "offline"] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" }).notNull().default(sql`(unixepoch('subsec') * 1000)`);

export const tenants = sqliteTable("tenants", {
  id: text("id").$type<TenantId>().primaryKey(),
  name: text("name").notNull().unique(),
  createdAt: createdAt(),
  /** Whether its terminal (pty) sessions are recorded to R2 (worker/recordings/); on unless turned off. */
  recording: integer("recording", { mode: "boolean" }).notNull().default(true),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").$type<ApiKeyId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The public part of the key, used to find the row; the secret part is only hashed. */
    prefix: text("prefix").notNull().unique(),
    hash: text("hash").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("api_keys_tenant").on(t.tenantId)],
);

export const clusters = sqliteTable(
  "clusters",
  {
    id: text("id").$type<ClusterId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("clusters_tenant_name").on(t.tenantId, t.name)],
);

export const sites = sqliteTable(
  "sites",
  {
    id: text("id").$type<SiteId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    clusterId: text("cluster_id")
      .$type<ClusterId>()
      .notNull()
      .references(() => clusters.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("sites_cluster_name").on(t.clusterId, t.name), index("sites_tenant").on(t.tenantId)],
);

export const hosts = sqliteTable(
  "hosts",
  {
    id: text("id").$type<HostId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    clusterId: text("cluster_id")
      .$type<ClusterId>()
      .notNull()
      .references(() => clusters.id),
    siteId: text("site_id")
      .$type<SiteId>()
      .notNull()
      .references(() => sites.id),
    name: text("name").notNull(),
    /** `hostkey:<base64url>` — the ed25519 key the agent generated at enrollment. */
    publicKey: text("public_key").$type<HostPublicKey>().notNull(),
    status: text("status", { enum: HOST_STATUSES }).notNull().default("pending"),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }),
    facts: text("facts", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
    agentVersion: text("agent_version"),
    runtime: text("runtime"),
    enrolledWith: text("enrolled_with"),
    createdAt: createdAt(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("hosts_cluster_name").on(t.clusterId, t.name),
    index("hosts_tenant").on(t.tenantId),
    index("hosts_site").on(t.siteId),
  ],
);

export const enrollmentTokens = sqliteTable(
  "enrollment_tokens",
  {
    id: text("id").$type<TokenId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    clusterId: text("cluster_id")
      .$type<ClusterId>()
      .notNull()
      .references(() => clusters.id, { onDelete: "cascade" }),
    siteId: text("site_id")
      .$type<SiteId>()
      .notNull()
      .references(() => sites.id, { onDelete: "cascade" }),
    prefix: text("prefix").notNull().unique(),
    hash: text("hash").notNull(),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
    usedBy: text("used_by"),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("enrollment_tokens_tenant").on(t.tenantId)],
);

/**
 * Services added through the API: a name on a host mapped to address:port. The agent enforces where
 * they may point (only its loopback and the networks its own config opens); this row is a request.
 */
export const services = sqliteTable(
  "services",
  {
    id: text("id").$type<ServiceId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    hostId: text("host_id").$type<HostId>().notNull(),
    name: text("name").notNull(),
    target: text("target").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("services_host_name").on(t.hostId, t.name), index("services_tenant").on(t.tenantId)],
);

/**
 * Mesh routes: the agent on `fromHost` listens on `listen` (its loopback) and carries each connection
 * to `service` on `toHost` through the relay. Both hosts are in the same cluster.
 */
export const meshRoutes = sqliteTable(
  "mesh_routes",
  {
    id: text("id").$type<MeshRouteId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    clusterId: text("cluster_id").$type<ClusterId>().notNull(),
    fromHostId: text("from_host_id").$type<HostId>().notNull(),
    listen: text("listen").notNull(),
    toHostId: text("to_host_id").$type<HostId>().notNull(),
    toService: text("to_service").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("mesh_routes_from_listen").on(t.fromHostId, t.listen),
    index("mesh_routes_cluster").on(t.clusterId),
  ],
);

export const EXPOSURE_ACCESS = ["key", "public"] as const;
export type ExposureAccess = (typeof EXPOSURE_ACCESS)[number];

/**
 * Domains the platform admin granted to a tenant: its exposures may take custom hostnames within them
 * (the domain itself or names under it). A domain belongs to one tenant at most.
 */
export const tenantDomains = sqliteTable(
  "tenant_domains",
  {
    domain: text("domain").primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [index("tenant_domains_tenant").on(t.tenantId)],
);

/**
 * HTTP exposures: a host's service served on an origin of its own, `<name>.<EXPOSURE_DOMAIN>` (and
 * `hostname`, when set, inside one of the tenant's granted domains). Names and hostnames are global,
 * like subdomains. `access` "key" lets in the tenant's API keys
 * and signed links; "public" lets in anyone. Links are HMACs keyed by the control plane and bound to
 * `linkSalt`, which is not secret: changing it revokes every link given out so far.
 */
export const exposures = sqliteTable(
  "exposures",
  {
    id: text("id").$type<ExposureId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    hostId: text("host_id").$type<HostId>().notNull(),
    /** A service name on the host, or a port on its loopback (the host's policy decides). */
    service: text("service").notNull(),
    name: text("name").notNull().unique(),
    hostname: text("hostname").unique(),
    access: text("access", { enum: EXPOSURE_ACCESS }).notNull(),
    linkSalt: text("link_salt").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("exposures_tenant").on(t.tenantId), index("exposures_host").on(t.hostId)],
);

/** What a session was: an exec, a terminal, a TCP stream (forward, proxy, ssh), a mesh route's or an exposure's. */
export const SESSION_KINDS = ["exec", "tcp", "pty", "mesh", "exposure", "logs", "console"] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

/** One exec (later: one TCP stream) through a host: who ran what, when, how it ended, bytes moved. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").$type<SessionId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    hostId: text("host_id").$type<HostId>().notNull(),
    actor: text("actor").notNull(),
    kind: text("kind", { enum: SESSION_KINDS }).notNull(),
    argv: text("argv", { mode: "json" }).$type<string[]>().notNull().default([]),
    startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
    exitCode: integer("exit_code"),
    signal: text("signal"),
    /** Bytes from the client to the host (stdin) and from the host to the client (stdout + stderr). */
    bytesIn: integer("bytes_in").notNull().default(0),
    bytesOut: integer("bytes_out").notNull().default(0),
    /** Why it ended when it did not end with an exit: "client gone", "host disconnected", … */
    endReason: text("end_reason"),
  },
  (t) => [index("sessions_tenant_started").on(t.tenantId, t.startedAt), index("sessions_host").on(t.hostId)],
);

/** A job on one host: queued until delivered, running, then one of the final states. */
export const JOB_HOST_STATES = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "interrupted",
] as const;
export type JobHostState = (typeof JOB_HOST_STATES)[number];

/**
 * A queued job (`outpost job run`): steps run in order on every host the selector chose, each host
 * once (the agent's action ledger), delivered now or when the host next connects before `expiresAt`.
 * With `includeNew`, hosts enrolling later whose labels match are added.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").$type<JobId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    clusterId: text("cluster_id").$type<ClusterId>().notNull(),
    /** Canonical text (schema/selectors.ts); "" selects every host. */
    selector: text("selector").notNull(),
    site: text("site"),
    steps: text("steps", { mode: "json" }).$type<string[][]>().notNull(),
    /** Each step's limit (ms), enforced by the agent; none when null. */
    timeoutMs: integer("timeout_ms"),
    includeNew: integer("include_new", { mode: "boolean" }).notNull().default(false),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    cancelledAt: integer("cancelled_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("jobs_tenant_created").on(t.tenantId, t.createdAt), index("jobs_cluster").on(t.clusterId)],
);

/** One job's run on one host, and its result: exit code, duration, the last 64 KiB of each stream. */
export const jobHosts = sqliteTable(
  "job_hosts",
  {
    jobId: text("job_id")
      .$type<JobId>()
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    hostId: text("host_id").$type<HostId>().notNull(),
    state: text("state", { enum: JOB_HOST_STATES }).notNull().default("queued"),
    /** The step that ran last (0-based), its exit code or signal. */
    step: integer("step"),
    exitCode: integer("exit_code"),
    signal: text("signal"),
    message: text("message"),
    durationMs: integer("duration_ms"),
    /** base64 of the last JOB_OUTPUT_TAIL bytes of each stream, over all steps. */
    stdoutTail: text("stdout_tail"),
    stderrTail: text("stderr_tail"),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.hostId] }), index("job_hosts_host_state").on(t.hostId, t.state)],
);

/**
 * A dashboard sign-in (worker/dashboard/): the browser holds only a random id in an HttpOnly cookie,
 * stored here as its SHA-256; it stands for the API key it was exchanged for, so revoking that key ends
 * it too. Short-lived (expiresAt), and revoked server-side at sign-out.
 */
export const dashboardSessions = sqliteTable(
  "dashboard_sessions",
  {
    /** SHA-256 hex of the cookie's random id. */
    hash: text("hash").primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    keyId: text("key_id")
      .$type<ApiKeyId>()
      .notNull()
      .references(() => apiKeys.id, { onDelete: "cascade" }),
    /** The per-session CSRF token every state-changing request must carry (form field or header). */
    csrf: text("csrf").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("dashboard_sessions_key").on(t.keyId)],
);

export const AUDIT_OUTCOMES = ["allowed", "denied"] as const;

export const auditEvents = sqliteTable(
  "audit_events",
  {
    /** Monotonic, so "newest first" and cursors are a plain ORDER BY. */
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** Null for platform-level events (tenant creation, unknown credentials). */
    tenantId: text("tenant_id").$type<TenantId>(),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    target: text("target"),
    outcome: text("outcome", { enum: AUDIT_OUTCOMES }).notNull(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index("audit_events_tenant_id").on(t.tenantId, t.id)],
);

export type Tenant = typeof tenants.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type Cluster = typeof clusters.$inferSelect;
export type Site = typeof sites.$inferSelect;
export type Host = typeof hosts.$inferSelect;
export type EnrollmentToken = typeof enrollmentTokens.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type Service = typeof services.$inferSelect;
export type MeshRoute = typeof meshRoutes.$inferSelect;
export type Exposure = typeof exposures.$inferSelect;
export type TenantDomain = typeof tenantDomains.$inferSelect;

// ## Artifacts (worker/artifacts/): content-addressed blobs in R2 at `artifacts/<sha256>`, stored once
// for everyone, but referenced per tenant: a tenant sees and grants only the artifacts it uploaded.

/** An artifact a tenant uploaded (and the server verified): the tenant's reference to the shared blob. */
export const artifacts = sqliteTable(
  "artifacts",
  {
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** Lowercase hex SHA-256 of the whole blob, as the server computed it on completion. */
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.sha256] })],
);

/** An upload in progress: an R2 multipart upload under `uploads/<id>`, resumable until it completes. */
export const artifactUploads = sqliteTable(
  "artifact_uploads",
  {
    id: text("id").$type<ArtifactUploadId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** What the client claims; checked against the bytes on completion. */
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    partSize: integer("part_size").notNull(),
    /** R2's multipart upload id (for resumeMultipartUpload). */
    r2UploadId: text("r2_upload_id").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("artifact_uploads_tenant_sha").on(t.tenantId, t.sha256)],
);

/** The parts R2 has received for an upload: what a resuming client skips, and what completion lists. */
export const artifactUploadParts = sqliteTable(
  "artifact_upload_parts",
  {
    uploadId: text("upload_id")
      .$type<ArtifactUploadId>()
      .notNull()
      .references(() => artifactUploads.id, { onDelete: "cascade" }),
    /** 1-based, as R2 numbers parts. */
    part: integer("part").notNull(),
    etag: text("etag").notNull(),
    size: integer("size").notNull(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.part] })],
);

/**
 * A host may fetch an artifact: written when a deployment targets it (grantArtifact). `lastFetchAt`
 * is the time of the newest signed fetch request accepted, which the next one must exceed (replay).
 */
export const artifactGrants = sqliteTable(
  "artifact_grants",
  {
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    hostId: text("host_id")
      .$type<HostId>()
      .notNull()
      .references(() => hosts.id, { onDelete: "cascade" }),
    sha256: text("sha256").notNull(),
    lastFetchAt: integer("last_fetch_at").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.hostId, t.sha256] }),
    index("artifact_grants_tenant_sha").on(t.tenantId, t.sha256),
  ],
);

export type Artifact = typeof artifacts.$inferSelect;
export type ArtifactUpload = typeof artifactUploads.$inferSelect;

// ## Apps (issue 13): desired state here, observed state reported by the agents

/** An app of a tenant: a name its releases and workloads share. */
export const apps = sqliteTable(
  "apps",
  {
    id: text("id").$type<AppId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("apps_tenant_name").on(t.tenantId, t.name)],
);

/** A release: an artifact and the spec it runs with, numbered 1, 2, … per app. */
export const releases = sqliteTable(
  "releases",
  {
    appId: text("app_id")
      .$type<AppId>()
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    n: integer("n").notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    /** The checked spec (schema/apps/spec.ts AppSpec). */
    spec: text("spec", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    /** Set once it passed its health gate on a host: what a revert or a rollback goes back to. */
    healthyAt: integer("healthy_at", { mode: "timestamp_ms" }),
  },
  (t) => [primaryKey({ columns: [t.appId, t.n] })],
);

/** `rollout`: a deploy to many hosts, driven batch by batch by the ClusterDO (cluster/rollout.ts). */
export const DEPLOYMENT_KINDS = ["deploy", "rollback", "start", "stop", "restart", "rm", "rollout"] as const;
export const DEPLOYMENT_STATUSES = ["running", "succeeded", "failed"] as const;

/** One change of an app's desired state (a deploy, a rollback, a start/stop/restart/rm). */
export const deployments = sqliteTable(
  "deployments",
  {
    id: text("id").$type<DeploymentId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    appId: text("app_id")
      .$type<AppId>()
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: DEPLOYMENT_KINDS }).notNull(),
    release: integer("release"),
    status: text("status", { enum: DEPLOYMENT_STATUSES }).notNull().default("running"),
    message: text("message"),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("deployments_app").on(t.appId, t.createdAt)],
);

/** A rollout adds `skipped` (stopped before this host's batch) and `reverted` (back on its previous release). */
export const DEPLOYMENT_HOST_STATUSES = [
  "pending",
  "running",
  "succeeded",
  "failed",
  "skipped",
  "reverted",
] as const;

/** A deployment on one host: the generation that host must reach, and how it went. */
export const deploymentHosts = sqliteTable(
  "deployment_hosts",
  {
    deploymentId: text("deployment_id")
      .$type<DeploymentId>()
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    hostId: text("host_id")
      .$type<HostId>()
      .notNull()
      .references(() => hosts.id, { onDelete: "cascade" }),
    generation: integer("generation").notNull(),
    /** For a restart: the one-shot action whose result settles it. */
    actionId: text("action_id").$type<ActionId>(),
    status: text("status", { enum: DEPLOYMENT_HOST_STATUSES }).notNull().default("pending"),
    message: text("message"),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }),
  },
  (t) => [primaryKey({ columns: [t.deploymentId, t.hostId] })],
);

export const DESIRED_STATES = ["running", "stopped", "absent"] as const;

/**
 * An app on one host: the workload the HostDO pushes (desired: generation, release, pending actions)
 * and what the agent last reported (observed: live release, instances).
 */
export const instances = sqliteTable(
  "instances",
  {
    id: text("id").$type<WorkloadId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    appId: text("app_id")
      .$type<AppId>()
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    hostId: text("host_id")
      .$type<HostId>()
      .notNull()
      .references(() => hosts.id, { onDelete: "cascade" }),
    generation: integer("generation").notNull(),
    desired: text("desired", { enum: DESIRED_STATES }).notNull(),
    release: integer("release").notNull(),
    /** One-shot actions not yet reported done: [{ id, op }]. */
    actions: text("actions", { mode: "json" }).$type<{ id: ActionId; op: string }[]>().notNull().default([]),
    observedGeneration: integer("observed_generation").notNull().default(0),
    liveRelease: integer("live_release"),
    /** The agent's last workload.status instances, as reported (strings already checked on the wire). */
    observed: text("observed", { mode: "json" }).$type<Record<string, unknown>[]>().notNull().default([]),
    message: text("message"),
    observedAt: integer("observed_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("instances_app_host").on(t.appId, t.hostId), index("instances_host").on(t.hostId)],
);

export type AppRow = typeof apps.$inferSelect;
export type InstanceRow = typeof instances.$inferSelect;

// ## Env secrets (schema/secrets/): the control plane holds only ciphertext and sealed keys.

/**
 * A tenant's secret keepers: X25519 public keys (`keeperkey:…`) whose owners (a CLI's config dir) can
 * open every env value, so they can re-seal it for a host that is not yet a recipient.
 */
export const secretKeepers = sqliteTable(
  "secret_keepers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    publicKey: text("public_key").$type<KeeperPublicKey>().notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("secret_keepers_tenant_name").on(t.tenantId, t.name),
    uniqueIndex("secret_keepers_tenant_key").on(t.tenantId, t.publicKey),
  ],
);

/**
 * One env variable of an app at its current version: XChaCha20-Poly1305 ciphertext (base64url) and
 * nonce, encrypted by the client under a data key the control plane never sees; the associated data
 * binds tenant, app, name and version (schema/secrets/associated-data.ts). `app` is the app's name.
 */
export const appEnv = sqliteTable(
  "app_env",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    app: text("app").notNull(),
    name: text("name").notNull(),
    version: integer("version").notNull(),
    ciphertext: text("ciphertext").notNull(),
    nonce: text("nonce").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("app_env_tenant_app_name").on(t.tenantId, t.app, t.name)],
);

/** An env value's data key sealed to one recipient (`host_…` or `keeperkey:…`), base64url. */
export const envSeals = sqliteTable(
  "env_seals",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    entryId: integer("entry_id")
      .notNull()
      .references(() => appEnv.id, { onDelete: "cascade" }),
    recipient: text("recipient").$type<RecipientId>().notNull(),
    sealedKey: text("sealed_key").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("env_seals_entry_recipient").on(t.entryId, t.recipient),
    index("env_seals_tenant_recipient").on(t.tenantId, t.recipient),
  ],
);

export type SecretKeeper = typeof secretKeepers.$inferSelect;
export type AppEnvEntry = typeof appEnv.$inferSelect;

// ## microVM images (issue 14): a name for an artifact holding a kernel, maybe an initrd and a rootfs

/**
 * A VM image of a tenant: `sha256` is the artifact (tar.gz with `manifest.json`, `kernel`, and maybe
 * `initrd` and `rootfs`; sdk/vm/pack-image.ts) and `cmdline` the kernel command line VMs boot with.
 * Pushing a name again points it at the new artifact; VMs made from the old one keep their sha256.
 */
export const vmImages = sqliteTable(
  "vm_images",
  {
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    sha256: text("sha256").notNull(),
    cmdline: text("cmdline").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] })],
);

export type VmImage = typeof vmImages.$inferSelect;

// ## microVMs (issue 14): desired state here, observed state reported by the host's agent

/** A VM's observed state as its agent reports it (schema/protocol/workloads.ts VM_STATES). */
export const VM_OBSERVED_STATES = [
  "created",
  "starting",
  "started",
  "paused",
  "stopping",
  "stopped",
  "failed",
  "destroyed",
] as const;

/**
 * A microVM on one host: the workload the HostDO pushes (desired state, generation, pending actions,
 * what it boots: the image's artifact and command line as they were at create) and what the agent
 * last reported (state, ports, snapshots). Its name is unique in its cluster, and is also a service
 * name: each port P is the host service `<name>-<P>`. `rm` sets desired "absent"; the row goes once
 * the agent reports the VM destroyed.
 */
export const vms = sqliteTable(
  "vms",
  {
    id: text("id").$type<WorkloadId>().primaryKey(),
    tenantId: text("tenant_id")
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    clusterId: text("cluster_id")
      .$type<ClusterId>()
      .notNull()
      .references(() => clusters.id, { onDelete: "cascade" }),
    hostId: text("host_id")
      .$type<HostId>()
      .notNull()
      .references(() => hosts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The image's name when the VM was made, and what it pointed at then (a re-push does not move it). */
    image: text("image").notNull(),
    imageSha256: text("image_sha256").notNull(),
    imageSize: integer("image_size").notNull(),
    cmdline: text("cmdline").notNull(),
    cpus: integer("cpus").notNull(),
    memoryMib: integer("memory_mib").notNull(),
    /** MiB; 0: the image's rootfs size. */
    diskMib: integer("disk_mib").notNull(),
    /** Guest TCP ports. */
    ports: text("ports", { mode: "json" }).$type<number[]>().notNull().default([]),
    /** NoCloud user-data as given (at most MAX_USER_DATA bytes), base64. */
    userData: text("user_data"),
    /** The driver asked for; null: the host's first available. */
    driver: text("driver"),
    desired: text("desired", { enum: DESIRED_STATES }).notNull().default("running"),
    /** Milliseconds between the graceful stop and the kill, as the last stop asked. */
    stopTimeoutMs: integer("stop_timeout_ms").notNull().default(30_000),
    generation: integer("generation").notNull().default(1),
    /** One-shot actions not yet reported done: [{ id, op, arg? }]. */
    actions: text("actions", { mode: "json" })
      .$type<{ id: ActionId; op: string; arg?: string }[]>()
      .notNull()
      .default([]),
    observedGeneration: integer("observed_generation").notNull().default(0),
    state: text("state", { enum: VM_OBSERVED_STATES }),
    /** The agent's last `vm` status (driver, pid, ports, snapshots) and action results, as reported. */
    observed: text("observed", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    message: text("message"),
    observedAt: integer("observed_at", { mode: "timestamp_ms" }),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("vms_cluster_name").on(t.clusterId, t.name),
    index("vms_tenant").on(t.tenantId),
    index("vms_host").on(t.hostId),
  ],
);

export type VmRow = typeof vms.$inferSelect;
