// `outpost-agent enroll`: turn a one-time token into this host's identity (schema/protocol/enroll.ts).
// The key is generated here and only its public half leaves the host; the request is signed with it
// (proof of possession). Nothing is written unless the control plane said yes.
//
// A state dir holds one identity per enrollment (state.ts): the first at its top, each further one
// (another cluster, or another control plane) under identities/<host id>, with its own key. --force
// replaces the identity of the cluster and control plane the token enrolls in (or a damaged top one).
// Which cluster that is, only the answer says, so a token is never refused here before it is spent.

import { type EnrollRequest, type EnrollResponse, enrollmentMessage } from "../schema/protocol/enroll.ts";
import {
  formatHostKey,
  generateKeyPair,
  parseControlPlaneKey,
  parseHostId,
  Signer,
  toBase64Url,
  Verifier,
} from "../schema/protocol/index.ts";
import { AgentError, oneLine } from "./errors.ts";
import type { Runtime } from "./runtime/index.ts";
import {
  type AgentState,
  type Identity,
  identityDir,
  listIdentities,
  removeIdentity,
  saveIdentity,
} from "./state.ts";

export interface EnrollOptions {
  /** Base URL of the control plane, already normalised (see controlPlaneUrl). */
  url: string;
  token: string;
  name: string;
  labels?: Record<string, string>;
  stateDir: string;
  /** Replace the identity of the same cluster and control plane already in stateDir. */
  force?: boolean;
  /** Add this identity to those already in stateDir (another cluster, or another control plane). */
  add?: boolean;
  /** For tests; the platform's fetch otherwise. */
  fetch?: typeof fetch;
}

/** How long the enrollment request may take. */
const ENROLL_TIMEOUT_MS = 30_000;

export async function enroll(runtime: Runtime, options: EnrollOptions): Promise<AgentState> {
  let existing: Identity[];
  let damaged = false;
  try {
    existing = await listIdentities(runtime, options.stateDir);
  } catch (error) {
    if (!options.force) throw error;
    existing = []; // a damaged enrollment is what --force is for: it replaces the top one
    damaged = true;
  }
  // Enrolling again by mistake must not spend a token on a second identity: adding one is asked for.
  if (existing.length > 0 && !options.force && !options.add) {
    const names = existing.map((i) => `${i.state.name}.${i.state.cluster} (${i.state.hostId})`).join(", ");
    throw new AgentError(
      `${options.stateDir} already holds the enrollment of ${names}`,
      "pass --add to add this one as another identity (another cluster or control plane), or --force to replace the one of its cluster",
    );
  }

  const keys = await generateKeyPair();
  const signer = await Signer.fromSeed(keys.seed);
  const unsigned = {
    token: options.token,
    name: options.name,
    publicKey: formatHostKey(keys.publicKey),
    time: Date.now(),
  };
  const request: EnrollRequest = {
    ...unsigned,
    ...(options.labels && Object.keys(options.labels).length > 0 ? { labels: options.labels } : {}),
    signature: toBase64Url(await signer.sign(enrollmentMessage(unsigned))),
  };

  const endpoint = `${options.url}/v1/enroll`;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(ENROLL_TIMEOUT_MS),
    });
  } catch (error) {
    throw new AgentError(
      `cannot reach the control plane at ${options.url} (${_why(error)})`,
      "check --url and this host's network",
    );
  }
  const body = await response.text().catch(() => "");
  if (response.status !== 201) throw refusal(response.status, body, options);

  const answer = _parseAnswer(body, options.url);
  const state: AgentState = {
    hostId: answer.hostId,
    name: answer.name,
    cluster: answer.cluster,
    site: answer.site,
    url: options.url,
    controlPlaneKey: answer.controlPlaneKey,
    enrolledAt: new Date().toISOString(),
  };
  // --force replaces the identity this one takes over: same control plane and cluster (the same name
  // first: a re-enrollment after a revoke), else it adds; nothing else already here is touched.
  const sameCluster = existing.filter((i) => i.state.url === state.url && i.state.cluster === state.cluster);
  const same = !options.force
    ? undefined
    : (sameCluster.find((i) => i.state.name === state.name) ??
      (sameCluster.length === 1 ? sameCluster[0] : undefined));
  // The first identity (or the one it replaces at the top) keeps the single-identity layout.
  const dir =
    damaged || existing.length === 0 || same?.dir === options.stateDir
      ? options.stateDir
      : identityDir(options.stateDir, state.hostId);
  try {
    if (same && same.dir !== dir) await removeIdentity(runtime, options.stateDir, same);
    await saveIdentity(runtime, dir, state, keys.seed);
  } catch (error) {
    throw new AgentError(
      `enrolled as ${state.name}.${state.cluster} (${state.hostId}) but cannot save it in ${options.stateDir} (${_why(error)})`,
      "fix the directory, revoke this host (it is useless without its key) and enroll again with a new token",
    );
  }
  return state;
}

/** The control plane's refusal as one line: what failed; what to do. */
function refusal(status: number, body: string, options: Pick<EnrollOptions, "name" | "url">): AgentError {
  let code = "";
  let message = "";
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === "string") code = parsed.error.code;
    if (typeof parsed.error?.message === "string") message = oneLine(parsed.error.message).slice(0, 300);
  } catch {}
  const newToken = "ask for a new one with 'outpost token create'";
  switch (code) {
    case "token_expired":
      return new AgentError("the enrollment token has expired", newToken);
    case "token_used":
      return new AgentError("the enrollment token was already used (each token enrolls one host)", newToken);
    case "token_revoked":
      return new AgentError("the enrollment token was revoked", newToken);
    case "token_invalid":
      return new AgentError("the enrollment token is unknown or malformed", `check --token, or ${newToken}`);
    case "name_taken":
      return new AgentError(
        `a host named '${options.name}' already exists in this cluster`,
        "choose another --name, or remove the old host first",
      );
    case "clock_skew":
      return new AgentError(
        "this host's clock is more than 5 minutes off the control plane's",
        "fix the time (enable NTP) and enroll again",
      );
    case "bad_signature":
      return new AgentError(
        "the control plane did not accept the enrollment signature",
        "make sure agent and control plane are the same version, and report it if they are",
      );
    case "invalid_request":
      return new AgentError(
        `the control plane refused the request: ${message || "invalid"}`,
        "check --name and --labels",
      );
  }
  const what = code ? `${code}: ${message}` : `HTTP ${status}${message ? `: ${message}` : ""}`;
  if (status === 404) {
    return new AgentError(
      `${options.url} has no enrollment endpoint (${what})`,
      "check --url: it must be the control plane's base URL",
    );
  }
  if (status >= 500) {
    return new AgentError(`the control plane failed to enroll this host (${what})`, "try again in a moment");
  }
  return new AgentError(`the control plane refused the enrollment (${what})`, "check --url and --token");
}

function _parseAnswer(body: string, url: string) {
  try {
    const answer = JSON.parse(body) as EnrollResponse;
    const controlPlaneKey = parseControlPlaneKey(answer.controlPlane.publicKey);
    new Verifier(controlPlaneKey); // a key we could never verify with is refused now, not at connect
    const text = (value: unknown, what: string) => {
      if (typeof value !== "string" || value === "") throw new TypeError(`${what} is missing`);
      return value;
    };
    return {
      hostId: parseHostId(answer.host.id),
      name: text(answer.host.name, "host.name"),
      cluster: text(answer.host.cluster, "host.cluster"),
      site: text(answer.host.site, "host.site"),
      controlPlaneKey,
    };
  } catch (error) {
    throw new AgentError(
      `the control plane at ${url} sent an enrollment answer this agent cannot read (${_why(error)})`,
      "check --url, and that agent and control plane are the same version",
    );
  }
}

function _why(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error)).slice(0, 200);
}
