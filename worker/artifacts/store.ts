// Where artifacts live in R2: `artifacts/<sha256>` once verified (shared by every tenant that uploaded
// the same bytes), `uploads/<upload id>` while a multipart upload is in progress.
//
// Verification happens here, on the server, before anything reaches `artifacts/`: R2 cannot hash a
// multipart object, so completion streams the assembled upload through crypto.DigestStream (bounded
// memory at any size) and only then copies it to its content address. A client's claimed digest is
// never trusted for dedupe across tenants: a tenant that does not have an artifact must upload all
// of it, even when the bucket already holds those bytes for someone else; only the copy is skipped.
// Agents verify again after fetching (agent/apps/artifact-fetch.ts), so R2 itself is not trusted either.
import type { ArtifactUploadId } from "../../schema/ids.ts";

export function artifactKey(sha256: string): string {
  return `artifacts/${sha256}`;
}

export function uploadKey(id: ArtifactUploadId): string {
  return `uploads/${id}`;
}

/** The lowercase hex SHA-256 and size of an object, read as a stream; undefined when it is absent. */
export async function digestObject(
  bucket: R2Bucket,
  key: string,
): Promise<{ sha256: string; size: number } | undefined> {
  const object = await bucket.get(key);
  if (!object) return undefined;
  // workerd has it as crypto.DigestStream only; workers-types declares it as a global class too.
  const digest = new (crypto as unknown as { DigestStream: typeof DigestStream }).DigestStream("SHA-256");
  await object.body.pipeTo(digest);
  const bytes = new Uint8Array(await digest.digest);
  return { sha256: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""), size: object.size };
}

/**
 * Copies verified bytes to their content address, unless they are there already. Two tenants racing
 * here both write the same verified bytes, so the last write wins harmlessly.
 */
export async function storeVerified(bucket: R2Bucket, from: string, sha256: string): Promise<void> {
  const to = artifactKey(sha256);
  if (await bucket.head(to)) return;
  const object = await bucket.get(from);
  if (!object) throw new Error(`upload ${from} vanished before it was stored`);
  // R2 needs a stream of known length; FixedLengthStream also fails the put if the length differs.
  const fixed = new FixedLengthStream(object.size);
  const [, put] = await Promise.all([object.body.pipeTo(fixed.writable), bucket.put(to, fixed.readable)]);
  if (!put) throw new Error(`R2 refused to store ${to}`);
}
