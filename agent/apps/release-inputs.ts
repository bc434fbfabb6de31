// What a release needs from the other parts of issue 13, behind two functions the App calls: its
// artifact (fetched and unpacked by artifact-fetch.ts, contract 3) and its env (opened by
// secrets.ts, contract 4). Each sealed entry travels in the workload frame as its own CBOR bytes and
// is decoded strictly here, before anything opens it.
import { decodeCbor, type Workload } from "../../schema/protocol/index.ts";
import { decodeSealedEnvEntry } from "../../schema/secrets/index.ts";
import type { AgentState } from "../state.ts";
import { openEnv } from "./secrets.ts";

/** Opens a workload's sealed env with this host's key; throws naming the variable that does not open. */
export function openAppEnv(
  _state: AgentState,
  seed: Uint8Array,
): (w: Workload) => Promise<Record<string, string>> {
  return async (w) => {
    if (w.env.length === 0) return {};
    const entries = w.env.map((bytes, i) => decodeSealedEnvEntry(decodeCbor(bytes), `env[${i}]`));
    return openEnv({ seed }, entries, { tenantId: w.tenant, app: w.name });
  };
}

/**
 * Fetches and unpacks a workload's artifact into `dir`. Until artifact-fetch.ts (contract 3) is in
 * this build, a release must already be on disk; this says so instead of pretending.
 */
export function prepareRelease(_state: AgentState): (w: Workload, dir: string) => Promise<void> {
  return async (w) => {
    throw new Error(
      `artifact ${[...w.artifact.sha256.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("")}… cannot be fetched: this agent build has no artifact fetch`,
    );
  };
}
