// POST /v1/enroll: an agent redeems a one-time token for a host identity (contract in schema/protocol/enroll.ts).
// The token's use and the host's creation are one atomic batch: 50 racing redemptions of one token make
// exactly one host, and a name already taken leaves the token unused.
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { clusters, enrollmentTokens, sites } from "../../schema/db/tables.ts";
import { newId, parseSecret } from "../../schema/ids.ts";
import { fromBase64Url } from "../../schema/protocol/base64.ts";
import { ENROLL_MAX_SKEW_MS, type EnrollResponse, enrollmentMessage } from "../../schema/protocol/enroll.ts";
import { type HostPublicKey, parseHostKey, Verifier } from "../../schema/protocol/index.ts";
import { controlPlanePublicKey } from "../auth/control-plane-key.ts";
import { secretMatches } from "../auth/secrets.ts";
import { AuthThrottle } from "../auth/throttle.ts";
import { audit } from "../db/audit.ts";
import { isUniqueViolation } from "../db/database.ts";
import { heartbeatMs } from "../durable/host/heartbeat.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { labels, name } from "../http/fields.ts";
import { valid } from "../http/validate.ts";
import { queueJobsForNewHost } from "../jobs/include-new.ts";

const enrollBody = z.object({
  token: z.string().max(128),
  name,
  labels: labels.optional(),
  publicKey: z
    .string()
    .regex(/^hostkey:[A-Za-z0-9_-]{43}$/, { error: "must be hostkey:<32 bytes base64url>" }),
  time: z.number().int(),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, { error: "must be a base64url ed25519 signature" }),
});

const tokenError = (code: string, message: string) => new ApiError(401, code, message);

/**
 * The first label the agent asks for that its token pins to another value, if any. Labels on a token
 * are the admin's decision (they place the host: `env=prod`), so a host may add labels of its own but
 * never change a pinned one; a conflict is refused rather than silently overridden so that the
 * misconfigured host, or the one trying to move itself, is told (as tailscale refuses tags its auth key
 * does not permit).
 */
function pinnedConflict(pinned: Record<string, string>, asked: Record<string, string>): string | undefined {
  return Object.keys(asked).find((k) => Object.hasOwn(pinned, k) && pinned[k] !== asked[k]);
}

export const enrollRoutes = new Hono<AppEnv>().post("/", valid("json", enrollBody), async (c) => {
  const req = c.req.valid("json");
  const db = c.var.db;
  const now = Date.now();

  // Proof of possession first: it costs no database round trip.
  // parseHostKey at the boundary: from here on the key is a HostPublicKey, not any string.
  let publicKey: HostPublicKey;
  let verifier: Verifier;
  try {
    publicKey = parseHostKey(req.publicKey);
    verifier = new Verifier(publicKey);
  } catch {
    throw ApiError.badRequest("publicKey: not a valid ed25519 public key");
  }
  const badSignature = ApiError.badRequest(
    "signature does not verify with publicKey: the request was not signed by its key",
    "bad_signature",
  );
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(req.signature);
  } catch {
    throw badSignature; // not canonical base64url (the pattern allows stray trailing bits)
  }
  if (!(await verifier.verify(signature, enrollmentMessage(req)))) throw badSignature;
  if (Math.abs(now - req.time) > ENROLL_MAX_SKEW_MS) {
    throw ApiError.badRequest(
      "time is more than 5 minutes from the control plane's clock: fix the host's clock",
      "clock_skew",
    );
  }

  const presented = parseSecret("enrollment", req.token);
  if (!presented)
    throw tokenError(
      "token_invalid",
      "not an enrollment token: expected 'oet_…' from 'outpost token create'",
    );
  const throttle = new AuthThrottle(c.env, c.req.raw.headers);
  const [token] = await db
    .select()
    .from(enrollmentTokens)
    .where(eq(enrollmentTokens.prefix, presented.prefix))
    .limit(1);
  // Before the comparison: an address over its allowance learns nothing about the token it sent.
  await throttle.gate();
  if (!token || !(await secretMatches(presented.secret, token.hash))) {
    const attacked = token && {
      scope: "enrollment" as const,
      id: token.prefix,
      tenantId: token.tenantId,
      target: `token:${token.id}`,
      label: `enrollment token oet_${token.prefix}_…`,
    };
    throw await throttle.failed(
      tokenError("token_invalid", "unknown enrollment token: ask for a new one with 'outpost token create'"),
      "unknown enrollment token",
      "host.enroll",
      attacked,
    );
  }
  const refuse = async (code: string, message: string) => {
    await audit(db, {
      tenantId: token.tenantId,
      actor: `token:${token.id}`,
      action: "host.enroll",
      target: req.name,
      outcome: "denied",
      details: { reason: code },
    });
    return tokenError(code, message);
  };
  if (token.revokedAt)
    throw await refuse(
      "token_revoked",
      "this enrollment token was revoked: ask for a new one with 'outpost token create'",
    );
  if (token.usedAt)
    throw await refuse(
      "token_used",
      "this enrollment token was already used: each token enrolls one host; ask for a new one",
    );
  if (token.expiresAt.getTime() <= now)
    throw await refuse(
      "token_expired",
      "this enrollment token has expired: ask for a new one with 'outpost token create'",
    );

  const conflict = pinnedConflict(token.labels, req.labels ?? {});
  if (conflict) {
    throw await refuse(
      "label_conflict",
      `label '${conflict}' is pinned to '${token.labels[conflict]}' by this enrollment token: drop it from --labels or ask for a token without it`,
    ).then((e) => ApiError.badRequest(e.message, e.code));
  }
  const merged = { ...req.labels, ...token.labels };
  // The same rule as for either set alone (at most 32), applied to what the host will carry.
  const mergedCheck = labels.safeParse(merged);
  if (!mergedCheck.success) {
    throw ApiError.badRequest(
      `labels: the token's and the host's together: ${mergedCheck.error.issues[0]?.message}; send fewer with --labels`,
    );
  }
  const hostId = newId("host");
  const hostLabels = JSON.stringify(merged);
  let results: Awaited<ReturnType<typeof db.$client.batch>>;
  try {
    // The UPDATE's conditions are the race guard: only one redemption finds used_at still NULL, and the
    // INSERT … SELECT creates a host only for the redemption that did.
    results = await db.$client.batch(
      [
        {
          sql: `update enrollment_tokens set used_at = ?, used_by = ?
                where id = ? and used_at is null and revoked_at is null and expires_at > ?`,
          args: [now, hostId, token.id, now],
        },
        {
          sql: `insert into hosts (id, tenant_id, cluster_id, site_id, name, public_key, labels, status, enrolled_with, created_at)
                select ?, tenant_id, cluster_id, site_id, ?, ?, ?, 'pending', id, ? from enrollment_tokens
                where id = ? and used_by = ?`,
          args: [hostId, req.name, publicKey, hostLabels, now, token.id, hostId],
        },
      ],
      "write",
    );
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw await refuse(
        "name_taken",
        `a host named '${req.name}' already exists in this cluster: choose another --name`,
      ).then((e) => new ApiError(409, e.code, e.message));
    }
    throw err;
  }
  if (results[1]!.rowsAffected !== 1) {
    throw await refuse(
      "token_used",
      "this enrollment token was already used: each token enrolls one host; ask for a new one",
    );
  }

  const [where] = await db
    .select({ cluster: clusters.name, site: sites.name })
    .from(sites)
    .innerJoin(clusters, eq(sites.clusterId, clusters.id))
    .where(eq(sites.id, token.siteId));
  await queueJobsForNewHost(db, {
    id: hostId,
    tenantId: token.tenantId,
    clusterId: token.clusterId,
    site: where!.site,
    labels: merged,
  });
  await audit(db, {
    tenantId: token.tenantId,
    actor: `token:${token.id}`,
    action: "host.enroll",
    target: hostId,
    outcome: "allowed",
    details: { name: req.name, publicKey },
  });
  const body: EnrollResponse = {
    host: { id: hostId, name: req.name, cluster: where!.cluster, site: where!.site },
    controlPlane: { publicKey: await controlPlanePublicKey(c.env) },
    heartbeatMs: heartbeatMs(c.env),
  };
  return c.json(body, 201);
});
