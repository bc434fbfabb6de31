// What a release needs from the other parts of issue 13, behind two functions the App calls: its
// artifact (fetched and unpacked by artifact-fetch.ts, contract 3) and its env (opened by
// secrets.ts, contract 4). Each sealed entry travels in the workload frame as its own CBOR bytes and
// is decoded strictly here, before anything opens it.
import { decodeCbor, type Signer, type Workload } from "../../schema/protocol/index.ts";
import { decodeSealedEnvEntry } from "../../schema/secrets/index.ts";
import type { AgentState } from "../state.ts";
import { ArtifactCache, type CacheLimits, type PrepareStats } from "./artifact-cache.ts";
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

/**
 * Makes `dir` the workload's artifact unpacked: copied from the cache in `<stateDir>/artifacts` when
 * this host has it, else fetched signed as this host (artifact-fetch.ts), verified and cached first.
 */
export function prepareRelease(
  state: AgentState,
  signer: Signer,
  stateDir: string,
  limits?: CacheLimits,
): (w: Workload, dir: string) => Promise<PrepareStats> {
  const cache = new ArtifactCache(
    `${stateDir}/artifacts`,
    (ref) => fetchArtifact({ url: state.url, hostId: state.hostId, signer }, ref),
    limits,
  );
  return (w, dir) => cache.prepare({ sha256: _hex(w.artifact.sha256), size: w.artifact.size, destDir: dir });
}

function _hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
