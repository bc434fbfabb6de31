// Artifacts: content-addressed blobs (app bundles, VM images) uploaded once, in parts, and fetched by
// the hosts a deployment targets. The flow, for `outpost artifact push` and `outpost deploy`:
//
//   POST /v1/artifacts {sha256, size}                 200 {exists: true, artifact}: nothing to send
//                                                     201 {exists: false, upload}: parts to send; an
//                                                     upload already in progress is resumed (its
//                                                     `received` parts are skipped)
//   PUT  /v1/artifacts/uploads/:id/parts/:n  <bytes>  one part (R2 multipart), exactly its size
//   GET  /v1/artifacts/uploads/:id                    the upload and the parts received so far
//   POST /v1/artifacts/uploads/:id/complete           completes the multipart object in place, at
//                                                     its final key (store.ts: no re-hash, no copy;
//                                                     the fetching agent verifies the sha256)
//   DELETE /v1/artifacts/uploads/:id                  abandons an upload
//   GET  /v1/artifacts, GET /v1/artifacts/:sha256     the tenant's artifacts
//
// And for agents (authenticated as the host, not by API key): GET /v1/agent/artifacts/:sha256
// (schema/protocol/artifact-fetch.ts). Every id and digest is looked up with the caller's tenant, so
// another tenant's upload or artifact is "not found", whether or not the bucket holds the bytes.
import { and, asc, count, eq, gt, lt, sum } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import {
  artifactGrants,
  artifacts,
  artifactUploadParts,
  artifactUploads,
  hosts,
} from "../../schema/db/tables.ts";
import { newId, parseId } from "../../schema/ids.ts";
import {
  ARTIFACT_FETCH_HEADERS,
  ARTIFACT_FETCH_MAX_SKEW_MS,
  artifactFetchMessage,
  SHA256_HEX,
} from "../../schema/protocol/artifact-fetch.ts";
import { fromBase64Url, isHostId, Verifier } from "../../schema/protocol/index.ts";
import { artifactLimits, MAX_PARTS } from "../artifacts/limits.ts";
import { rangedBody } from "../artifacts/ranged-body.ts";
import { artifactKey, legacyArtifactKey } from "../artifacts/store.ts";
import { requireRole } from "../auth/roles.ts";
import { audit } from "../db/audit.ts";
import { isUniqueViolation } from "../db/database.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { valid } from "../http/validate.ts";

const sha256 = z.string().regex(SHA256_HEX, { error: "must be 64 lowercase hex characters (a SHA-256)" });

const createUpload = z.object({ sha256, size: z.number().int().positive() });

/** A part's length is checked before any byte is read: R2 then takes exactly it. */
const partHeaders = z.object({
  "content-length": z.string().regex(/^[0-9]{1,12}$/, { error: "must be a byte count" }),
});

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** The sha256 of the last item of the previous page. */
  cursor: sha256.optional(),
});

/** The API's view of an artifact row: ISO 8601 times. */
function _artifact(row: typeof artifacts.$inferSelect) {
  return {
    sha256: row.sha256,
    size: row.size,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
  };
}

function _partCount(size: number, partSize: number): number {
  return Math.ceil(size / partSize);
}

function _partLength(upload: { size: number; partSize: number }, n: number): number {
  return n < _partCount(upload.size, upload.partSize)
    ? upload.partSize
    : upload.size - (n - 1) * upload.partSize;
}

type Db = AppEnv["Variables"]["db"];

async function _uploadView(db: Db, upload: typeof artifactUploads.$inferSelect) {
  const parts = await db
    .select({ part: artifactUploadParts.part })
    .from(artifactUploadParts)
    .where(eq(artifactUploadParts.uploadId, upload.id))
    .orderBy(asc(artifactUploadParts.part));
  return {
    id: upload.id,
    sha256: upload.sha256,
    size: upload.size,
    partSize: upload.partSize,
    parts: _partCount(upload.size, upload.partSize),
    received: parts.map((p) => p.part),
    createdAt: upload.createdAt.toISOString(),
  };
}

async function _findUpload(db: Db, tenantId: AppEnv["Variables"]["caller"]["tenantId"], ref: string) {
  let id: ReturnType<typeof parseId<"artifactUpload">>;
  try {
    id = parseId("artifactUpload", ref);
  } catch {
    throw ApiError.notFound(`upload '${ref.slice(0, 40)}'`);
  }
  const [row] = await db
    .select()
    .from(artifactUploads)
    .where(and(eq(artifactUploads.id, id), eq(artifactUploads.tenantId, tenantId)));
  if (!row) throw ApiError.notFound(`upload '${id}'`);
  return row;
}

/** Bytes the tenant's artifacts and uploads in progress already take. */
async function _usedBytes(db: Db, tenantId: AppEnv["Variables"]["caller"]["tenantId"]): Promise<number> {
  const [stored] = await db
    .select({ n: sum(artifacts.size) })
    .from(artifacts)
    .where(eq(artifacts.tenantId, tenantId));
  const [pending] = await db
    .select({ n: sum(artifactUploads.size) })
    .from(artifactUploads)
    .where(eq(artifactUploads.tenantId, tenantId));
  return Number(stored?.n ?? 0) + Number(pending?.n ?? 0);
}

export const artifactRoutes = new Hono<AppEnv>()
  .get("/", valid("query", listQuery), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const where = [eq(artifacts.tenantId, c.var.caller.tenantId)];
    if (cursor) where.push(gt(artifacts.sha256, cursor));
    const rows = await c.var.db
      .select()
      .from(artifacts)
      .where(and(...where))
      .orderBy(asc(artifacts.sha256))
      .limit(limit + 1);
    const page = rows.slice(0, limit).map(_artifact);
    return c.json({
      items: page,
      ...(rows.length > limit ? { nextCursor: page[page.length - 1]!.sha256 } : {}),
    });
  })
  .post("/", requireRole("operator"), valid("json", createUpload), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const body = c.req.valid("json");
    const limits = artifactLimits(c.env);
    const [have] = await db
      .select()
      .from(artifacts)
      .where(and(eq(artifacts.tenantId, caller.tenantId), eq(artifacts.sha256, body.sha256)));
    if (have) {
      if (have.size !== body.size)
        throw ApiError.conflict(
          `artifact ${body.sha256.slice(0, 12)} has ${have.size} bytes, not ${body.size}`,
        );
      return c.json({ exists: true as const, artifact: _artifact(have) }, 200);
    }
    const [pending] = await db
      .select()
      .from(artifactUploads)
      .where(and(eq(artifactUploads.tenantId, caller.tenantId), eq(artifactUploads.sha256, body.sha256)));
    if (pending) {
      if (pending.size !== body.size)
        throw ApiError.conflict(
          `an upload of ${body.sha256.slice(0, 12)} with ${pending.size} bytes is in progress (${pending.id}); delete it first`,
        );
      return c.json({ exists: false as const, upload: await _uploadView(db, pending) }, 201);
    }
    const refuse = async (status: 413 | 507, code: string, message: string) => {
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "artifact.upload",
        target: body.sha256,
        outcome: "denied",
        details: { size: body.size, reason: code },
      });
      throw new ApiError(status, code, message);
    };
    if (body.size > limits.maxArtifactBytes)
      await refuse(
        413,
        "payload_too_large",
        `an artifact may have at most ${limits.maxArtifactBytes} bytes, not ${body.size}`,
      );
    if (_partCount(body.size, limits.partBytes) > MAX_PARTS)
      await refuse(
        413,
        "payload_too_large",
        `an artifact of ${body.size} bytes needs more than ${MAX_PARTS} parts`,
      );
    const used = await _usedBytes(db, caller.tenantId);
    if (used + body.size > limits.quotaBytes)
      await refuse(
        507,
        "quota_exceeded",
        `the tenant's artifacts would take ${used + body.size} bytes, over its quota of ${limits.quotaBytes}; remove some first`,
      );
    const id = newId("artifactUpload");
    const multipart = await c.env.ARTIFACTS.createMultipartUpload(artifactKey(caller.tenantId, body.sha256));
    const row = {
      id,
      tenantId: caller.tenantId,
      sha256: body.sha256,
      size: body.size,
      partSize: limits.partBytes,
      r2UploadId: multipart.uploadId,
      createdBy: caller.actor,
      createdAt: new Date(),
    };
    try {
      await db.insert(artifactUploads).values(row);
    } catch (err) {
      await multipart.abort();
      if (isUniqueViolation(err))
        throw ApiError.conflict(`an upload of ${body.sha256.slice(0, 12)} just started; retry`);
      throw err;
    }
    return c.json({ exists: false as const, upload: await _uploadView(db, row) }, 201);
  })
  .get("/uploads/:id", async (c) => {
    const upload = await _findUpload(c.var.db, c.var.caller.tenantId, c.req.param("id"));
    return c.json({ upload: await _uploadView(c.var.db, upload) });
  })
  .put("/uploads/:id/parts/:n", requireRole("operator"), valid("header", partHeaders), async (c) => {
    const upload = await _findUpload(c.var.db, c.var.caller.tenantId, c.req.param("id"));
    const parts = _partCount(upload.size, upload.partSize);
    const n = Number(c.req.param("n"));
    if (!Number.isSafeInteger(n) || n < 1 || n > parts)
      throw ApiError.badRequest(
        `part must be 1-${parts} for this upload, not '${c.req.param("n").slice(0, 20)}'`,
      );
    const expected = _partLength(upload, n);
    const length = Number(c.req.valid("header")["content-length"]);
    if (length > expected)
      throw new ApiError(413, "payload_too_large", `part ${n} has ${expected} bytes, not ${length}`);
    if (length !== expected) throw ApiError.badRequest(`part ${n} has ${expected} bytes, not ${length}`);
    const body = c.req.raw.body;
    if (!body) throw ApiError.badRequest(`part ${n} has no body`);
    const multipart = c.env.ARTIFACTS.resumeMultipartUpload(
      artifactKey(upload.tenantId, upload.sha256),
      upload.r2UploadId,
    );
    // The request body goes to R2 as it is, with no JS-side pump: workerd gives a body with a
    // Content-Length a known length (checked against the part above), and the HTTP layer ends it at
    // exactly that many bytes or fails it.
    let part: R2UploadedPart;
    try {
      part = await multipart.uploadPart(n, body);
    } catch (err) {
      throw ApiError.badRequest(
        `part ${n} did not arrive whole (${err instanceof Error ? err.message : err})`,
      );
    }
    await c.var.db
      .insert(artifactUploadParts)
      .values({ uploadId: upload.id, part: n, etag: part.etag, size: expected })
      .onConflictDoUpdate({
        target: [artifactUploadParts.uploadId, artifactUploadParts.part],
        set: { etag: part.etag, size: expected },
      });
    return c.json({ part: { n, size: expected } });
  })
  .delete("/uploads/:id", requireRole("operator"), async (c) => {
    const upload = await _findUpload(c.var.db, c.var.caller.tenantId, c.req.param("id"));
    await c.env.ARTIFACTS.resumeMultipartUpload(
      artifactKey(upload.tenantId, upload.sha256),
      upload.r2UploadId,
    )
      .abort()
      .catch(() => {});
    await c.var.db.delete(artifactUploads).where(eq(artifactUploads.id, upload.id));
    await audit(c.var.db, {
      tenantId: c.var.caller.tenantId,
      actor: c.var.caller.actor,
      action: "artifact.upload.abort",
      target: upload.sha256,
      outcome: "allowed",
      details: { upload: upload.id },
    });
    return c.json({ upload: { id: upload.id } });
  })
  .post("/uploads/:id/complete", requireRole("operator"), async (c) => {
    const caller = c.var.caller;
    const db = c.var.db;
    const bucket = c.env.ARTIFACTS;
    const upload = await _findUpload(db, caller.tenantId, c.req.param("id"));
    const received = await db
      .select()
      .from(artifactUploadParts)
      .where(eq(artifactUploadParts.uploadId, upload.id))
      .orderBy(asc(artifactUploadParts.part));
    const parts = _partCount(upload.size, upload.partSize);
    const have = new Set(received.map((p) => p.part));
    const missing = Array.from({ length: parts }, (_, i) => i + 1).filter((n) => !have.has(n));
    if (missing.length > 0)
      throw ApiError.conflict(`upload ${upload.id} is missing part(s) ${missing.slice(0, 10).join(", ")}`);
    const key = artifactKey(upload.tenantId, upload.sha256);
    let stored: R2Object | null;
    try {
      stored = await bucket
        .resumeMultipartUpload(key, upload.r2UploadId)
        .complete(received.map((p) => ({ partNumber: p.part, etag: p.etag })));
    } catch (err) {
      // Completed already by a concurrent call (the object exists), or R2 lost the upload.
      stored = await bucket.head(key);
      if (!stored)
        throw ApiError.conflict(
          `upload ${upload.id} cannot be completed (${err instanceof Error ? err.message : err})`,
        );
    }
    if (stored.size !== upload.size) {
      // Cannot happen with fixed-length parts; refused rather than recorded if R2 ever disagrees.
      await bucket.delete(key);
      await db.delete(artifactUploads).where(eq(artifactUploads.id, upload.id));
      await audit(db, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: "artifact.upload",
        target: upload.sha256,
        outcome: "denied",
        details: { reason: "size_mismatch", size: stored.size },
      });
      throw new ApiError(
        422,
        "size_mismatch",
        `the uploaded parts add up to ${stored.size} bytes, not ${upload.size}; nothing was stored`,
      );
    }
    const row = {
      tenantId: caller.tenantId,
      sha256: upload.sha256,
      size: upload.size,
      createdBy: caller.actor,
      createdAt: new Date(),
    };
    await db.batch([
      db.insert(artifacts).values(row).onConflictDoNothing(),
      db.delete(artifactUploads).where(eq(artifactUploads.id, upload.id)),
    ]);
    await audit(db, {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: "artifact.upload",
      target: upload.sha256,
      outcome: "allowed",
      details: { size: upload.size, parts },
    });
    return c.json({ artifact: _artifact(row) });
  })
  .get("/:sha256", async (c) => {
    const ref = c.req.param("sha256");
    const [row] = SHA256_HEX.test(ref)
      ? await c.var.db
          .select()
          .from(artifacts)
          .where(and(eq(artifacts.tenantId, c.var.caller.tenantId), eq(artifacts.sha256, ref)))
      : [];
    if (!row) throw ApiError.notFound(`artifact '${ref.slice(0, 64)}'`);
    const [grants] = await c.var.db
      .select({ n: count() })
      .from(artifactGrants)
      .where(and(eq(artifactGrants.tenantId, row.tenantId), eq(artifactGrants.sha256, row.sha256)));
    return c.json({ artifact: { ..._artifact(row), hosts: grants?.n ?? 0 } });
  });

/** One refusal for every failed host authentication: which check failed goes to the audit log only. */
const refused = () => ApiError.unauthorized("this host may not fetch that artifact");

/**
 * GET /v1/agent/artifacts/:sha256, signed by the host (schema/protocol/artifact-fetch.ts). Answers 404
 * for an artifact the host was not granted, whether or not it exists, and 401 for a bad credential.
 */
export const agentArtifactRoutes = new Hono<AppEnv>().get("/:sha256", async (c) => {
  const db = c.var.db;
  const sha = c.req.param("sha256");
  const hostId = c.req.header(ARTIFACT_FETCH_HEADERS.host) ?? "";
  const timeText = c.req.header(ARTIFACT_FETCH_HEADERS.time) ?? "";
  const signatureText = c.req.header(ARTIFACT_FETCH_HEADERS.signature) ?? "";
  if (!SHA256_HEX.test(sha)) throw ApiError.notFound(`artifact '${sha.slice(0, 64)}'`);
  if (!isHostId(hostId) || !/^[0-9]{1,16}$/.test(timeText) || !/^[A-Za-z0-9_-]{86}$/.test(signatureText))
    throw ApiError.unauthorized(
      `an artifact fetch needs the ${Object.values(ARTIFACT_FETCH_HEADERS).join(", ")} headers of a host`,
    );
  const time = Number(timeText);
  const [found] = await db
    .select({ host: hosts, grant: artifactGrants, size: artifacts.size })
    .from(hosts)
    .leftJoin(artifactGrants, and(eq(artifactGrants.hostId, hosts.id), eq(artifactGrants.sha256, sha)))
    .leftJoin(artifacts, and(eq(artifacts.tenantId, hosts.tenantId), eq(artifacts.sha256, sha)))
    .where(eq(hosts.id, hostId));
  const deny = async (reason: string) => {
    if (found)
      await audit(db, {
        tenantId: found.host.tenantId,
        actor: `host:${hostId}`,
        action: "artifact.fetch",
        target: sha,
        outcome: "denied",
        details: { reason },
      });
  };
  if (!found || found.host.revokedAt) {
    await deny("unknown or revoked host");
    throw refused();
  }
  let verifier: Verifier;
  try {
    verifier = new Verifier(found.host.publicKey);
  } catch {
    await deny("host key unusable");
    throw refused();
  }
  if (
    !(await verifier.verify(
      fromBase64Url(signatureText),
      artifactFetchMessage({ hostId, sha256: sha, time }),
    ))
  ) {
    await deny("bad signature");
    throw refused();
  }
  // Only a genuine request from the host learns about skew, replay and grants.
  if (Math.abs(Date.now() - time) > ARTIFACT_FETCH_MAX_SKEW_MS) {
    await deny("clock skew");
    throw new ApiError(
      401,
      "clock_skew",
      `the host's clock is more than ${ARTIFACT_FETCH_MAX_SKEW_MS / 1000}s off`,
    );
  }
  if (!found.grant || found.size === null) {
    await deny("not granted");
    throw ApiError.notFound(`artifact ${sha.slice(0, 12)} for host '${found.host.name}'`);
  }
  // Replay: the time must exceed the newest accepted; raised atomically, so a copy loses any race.
  const raised = await db
    .update(artifactGrants)
    .set({ lastFetchAt: time })
    .where(
      and(
        eq(artifactGrants.hostId, hostId),
        eq(artifactGrants.sha256, sha),
        lt(artifactGrants.lastFetchAt, time),
      ),
    )
    .returning({ hostId: artifactGrants.hostId });
  if (raised.length === 0) {
    await deny("replayed");
    throw new ApiError(401, "replayed", "this fetch request was used before; sign a new one");
  }
  const object =
    (await c.env.ARTIFACTS.head(artifactKey(found.host.tenantId, sha))) ??
    (await c.env.ARTIFACTS.head(legacyArtifactKey(sha)));
  if (!object)
    throw new ApiError(503, "artifact_missing", `artifact ${sha.slice(0, 12)} is not in the bucket`);
  await audit(db, {
    tenantId: found.host.tenantId,
    actor: `host:${hostId}`,
    action: "artifact.fetch",
    target: sha,
    outcome: "allowed",
    details: { size: object.size },
  });
  const body = rangedBody(c.env.ARTIFACTS, object.key, object.size, (p) => c.executionCtx.waitUntil(p));
  return new Response(body, {
    headers: { "content-type": "application/octet-stream", "content-length": String(object.size) },
  });
});
