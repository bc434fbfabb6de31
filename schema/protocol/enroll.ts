// Enrollment: how an agent turns a one-time token into a host identity. The agent generates its ed25519
// key, signs ENROLL_MAGIC + token + name + public key + time with it (proof of possession: the control
// plane only records keys whose holder signed the request), and POSTs it. The token is redeemed
// exactly once, even under a race; the private key never leaves the host.
//
//   POST /v1/enroll   application/json
//     { token: "oet_…", name: "web01", labels?: { k: v }, publicKey: "hostkey:…", time: <ms>,
//       signature: <base64url ed25519 signature over enrollmentMessage(…)> }
//   201 { host: { id, name, cluster, site }, controlPlane: { publicKey: "cpkey:…" }, heartbeatMs }
//   400 invalid_request / bad_signature / clock_skew · 401 token_invalid / token_expired / token_used /
//   token_revoked · 409 name_taken — always as { error: { code, message } }
//
// The agent then dials  GET /v1/agent/connect?host=<host id>  (WebSocket; frames in frames.ts).

export const ENROLL_MAGIC = "outpost-enroll/1";

/** How far the agent's clock may be from the control plane's when it signs (replay window). */
export const ENROLL_MAX_SKEW_MS = 5 * 60_000;

export interface EnrollRequest {
  token: string;
  name: string;
  labels?: Record<string, string>;
  publicKey: string;
  time: number;
  signature: string;
}

export interface EnrollResponse {
  host: { id: string; name: string; cluster: string; site: string };
  controlPlane: { publicKey: string };
  heartbeatMs: number;
}

/** The exact bytes the agent signs; newline-separated because no field may contain a newline. */
export function enrollmentMessage(
  req: Pick<EnrollRequest, "token" | "name" | "publicKey" | "time">,
): Uint8Array {
  return new TextEncoder().encode(
    [ENROLL_MAGIC, req.token, req.name, req.publicKey, String(req.time)].join("\n"),
  );
}

/** Path of the agent's WebSocket. */
export const AGENT_CONNECT_PATH = "/v1/agent/connect";
