// What a release needs from the other parts of issue 13, behind two functions the App calls: its
// artifact (fetched and unpacked by artifact-fetch.ts, contract 3) and its env (opened by
// secrets.ts, contract 4). Each sealed entry travels in the workload frame as its own CBOR bytes and
// is decoded strictly here, before anything opens it.
import { decodeCbor, type Signer, type Workload } from "../../schema/protocol/index.ts";
import { decodeSealedEnvEntry } from "../../schema/secrets/index.ts";
import type { AgentState } from "../state.ts";
import { fetchArtifact } from "./artifact-fetch.ts";
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

/** Fetches and unpacks a workload's artifact into `dir`, signed as this host (artifact-fetch.ts). */
export function prepareRelease(
  state: AgentState,
  signer: Signer,
): (w: Workload, dir: string) => Promise<void> {
  return (w, dir) =>
    fetchArtifact(
      { url: state.url, hostId: state.hostId, signer },
      { sha256: _hex(w.artifact.sha256), size: w.artifact.size, destDir: dir },
    );
}

function _hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
