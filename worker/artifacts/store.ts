// Where artifacts live in R2: `artifacts/<tenantId>/<sha256>`. A multipart upload is created at that
// key, so completing it is the whole of storing it: no copy, no second read of the bytes.
//
// Security: the server does not re-hash what it stores. R2 cannot hash a multipart object and
// crypto.DigestStream cannot resume across the requests that carry the parts, so verifying meant
// reading the whole object back after completion (12 s for 32 MiB in Miniflare, the main cost of a
// deploy). The gate is the agent instead: it hashes what it fetches while it unpacks and refuses
// anything whose sha256 differs (agent/apps/artifact-fetch.ts), leaving nothing behind. Because every
// key carries the uploader's tenant, a lying uploader can only store wrong bytes under its own tenant's
// name and so only breaks its own deploys: another tenant claiming the same sha256 uploads its own
// copy (nothing is deduplicated across tenants), and hosts fetch only their tenant's objects. R2 itself
// is not trusted either, for the same reason. Sizes are exact: each part's length is fixed before a
// byte is read, so a completed object has exactly the size the upload declared.
//
// Objects stored before this layout (`artifacts/<sha256>`, verified by the server when they were
// written) are still served: see legacyArtifactKey. An upload in progress across the change (its parts
// under `uploads/<id>`) cannot be completed at the new key: completing it answers 409, and the client
// starts afresh after DELETE /v1/artifacts/uploads/:id.
import type { TenantId } from "../../schema/ids.ts";

export function artifactKey(tenantId: TenantId, sha256: string): string {
  return `artifacts/${tenantId}/${sha256}`;
}

/** The shared, server-verified key of artifacts uploaded before keys carried the tenant. */
export function legacyArtifactKey(sha256: string): string {
  return `artifacts/${sha256}`;
}
