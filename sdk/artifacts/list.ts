// The tenant's artifacts, a page at a time (sorted by sha256).
import { unwrap } from "../client.ts";
import type { Outpost } from "../outpost.ts";

export async function listArtifacts(client: Outpost, opts: { limit?: number; cursor?: string } = {}) {
  const query = {
    ...(opts.limit ? { limit: String(opts.limit) } : {}),
    ...(opts.cursor ? { cursor: opts.cursor } : {}),
  };
  return unwrap(client.url, client.api.v1.artifacts.$get({ query }));
}
