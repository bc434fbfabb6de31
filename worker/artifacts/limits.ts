// Sizes and quotas of artifacts. Defaults suit app bundles and VM images; a deployment (or a test)
// lowers them with the Worker's vars.
import type { Bindings } from "../env.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Parts of 16 MiB: well under the platform's 100 MB request body cap, above R2's 5 MiB minimum for
 * every part but the last, and few enough requests for a 1 GiB image (64).
 */
const DEFAULT_PART_BYTES = 16 * MiB;
/** R2's minimum size of every part but the last. */
const MIN_PART_BYTES = 5 * MiB;
/** Under the platform's 100 MB (not MiB) body cap, with room for headers. */
const MAX_PART_BYTES = 95 * 1000 * 1000;
/** R2 allows 10,000 parts per upload; far more than any artifact here needs. */
export const MAX_PARTS = 10_000;

export interface ArtifactLimits {
  partBytes: number;
  /** The largest one artifact may be. */
  maxArtifactBytes: number;
  /** What one tenant's artifacts (and uploads in progress) may add up to. */
  quotaBytes: number;
}

export function artifactLimits(env: Bindings): ArtifactLimits {
  const partBytes = _bytes(env.ARTIFACT_PART_BYTES, DEFAULT_PART_BYTES);
  return {
    partBytes: Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, partBytes)),
    maxArtifactBytes: _bytes(env.ARTIFACT_MAX_BYTES, 4 * GiB),
    quotaBytes: _bytes(env.ARTIFACT_QUOTA_BYTES, 20 * GiB),
  };
}

function _bytes(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return text && Number.isSafeInteger(n) && n > 0 ? n : fallback;
}
