// The system of record: every table Outpost keeps in libSQL. Times are integer milliseconds since the
// epoch (drizzle `timestamp_ms`), ids are prefixed random text (see ../ids.ts), JSON columns hold small
// maps only. Secrets never appear here: API keys and enrollment tokens are stored as a lookup prefix
// plus a SHA-256 hash (they are 160+ bits of randomness, so a slow KDF buys nothing).
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type {
  ApiKeyId,
  ClusterId,
  ExposureId,
  MeshRouteId,
  ServiceId,
  SessionId,
  SiteId,
  TenantId,
  TokenId,
} from "../ids.ts";
import type { HostId, HostPublicKey } from "../protocol/keys.ts";

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

export const SESSION_KINDS = ["exec", "tcp", "pty"] as const;

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
