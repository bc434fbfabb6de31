// How an agent fetches an artifact: a plain HTTPS GET, authenticated as the host by a signature with
// its ed25519 key (the same key its frames are signed with), so no token has to travel or be stored.
//
//   GET /v1/agent/artifacts/<sha256>
//     x-outpost-host:      host_…
//     x-outpost-time:      <ms since the epoch, the agent's clock>
//     x-outpost-signature: <base64url ed25519 signature over artifactFetchMessage(…)>
//   200 the blob (application/octet-stream, content-length) · 401 bad_signature / replayed /
//   clock_skew · 404 not granted (never says whether the artifact exists)
//
// Replay protection: the time must be within ARTIFACT_FETCH_MAX_SKEW_MS of the control plane's clock
// AND strictly greater than the newest time already accepted for this host and artifact (kept in the
// grant row, raised atomically), like the frames' sequence numbers. A captured request is therefore
// good for nothing: not later, not again, not for another artifact or host (all are signed).
// The magic keeps the signature apart from every other message the host key signs (frames are
// COSE_Sign1 structures, enrollment its own magic).

import { toBase64Url } from "./base64.ts";
import type { Signer } from "./sign.ts";

const ARTIFACT_FETCH_MAGIC = "outpost-artifact-fetch/1";

/** How far the agent's clock may be from the control plane's when it signs. */
export const ARTIFACT_FETCH_MAX_SKEW_MS = 5 * 60_000;

export const ARTIFACT_FETCH_PATH = "/v1/agent/artifacts";

export const ARTIFACT_FETCH_HEADERS = {
  host: "x-outpost-host",
  time: "x-outpost-time",
  signature: "x-outpost-signature",
} as const;

/** Lowercase hex SHA-256: how every artifact is named. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The exact bytes the agent signs; newline-separated because no field may contain a newline. */
export function artifactFetchMessage(req: { hostId: string; sha256: string; time: number }): Uint8Array {
  return new TextEncoder().encode(
    [ARTIFACT_FETCH_MAGIC, req.hostId, req.sha256, String(req.time)].join("\n"),
  );
}

/** The headers of a fetch request signed by the host's `signer`. */
export async function signArtifactFetch(
  signer: Signer,
  req: { hostId: string; sha256: string; time: number },
): Promise<Record<string, string>> {
  const signature = await signer.sign(artifactFetchMessage(req));
  return {
    [ARTIFACT_FETCH_HEADERS.host]: req.hostId,
    [ARTIFACT_FETCH_HEADERS.time]: String(req.time),
    [ARTIFACT_FETCH_HEADERS.signature]: toBase64Url(signature),
  };
}
