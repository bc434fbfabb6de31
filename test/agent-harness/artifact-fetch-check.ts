// Runs agent/apps/artifact-fetch.ts for real on whichever runtime runs this file, as an enrolled host
// (its state dir), against a real control plane, and prints one JSON report: test/artifacts-fetch.test.ts
// runs it under Bun and Deno. The cases come in OUTPOST_FETCH_CHECK as JSON; each catches its own failure.
import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import { ArtifactFetchError, fetchArtifact } from "../../agent/apps/artifact-fetch.ts";
import { detectRuntime } from "../../agent/runtime/index.ts";
import { loadIdentity } from "../../agent/state.ts";
import { Signer } from "../../schema/protocol/index.ts";

interface Case {
  name: string;
  sha256: string;
  size: number;
  destDir: string;
}

const runtime = detectRuntime();
const input = JSON.parse(runtime.env("OUTPOST_FETCH_CHECK") ?? "{}") as { stateDir: string; cases: Case[] };
const { state, seed } = await loadIdentity(runtime, input.stateDir);
const ctx = { url: state.url, hostId: state.hostId, signer: await Signer.fromSeed(seed) };
const report: Record<string, unknown> = {};
for (const c of input.cases) {
  const started = performance.now();
  try {
    await fetchArtifact(ctx, c);
    report[c.name] = { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    // What a failure left behind: nothing at destDir, no temporary directory beside it.
    let siblings: string[] = [];
    try {
      siblings = readdirSync(dirname(c.destDir));
    } catch {}
    report[c.name] = {
      ok: false,
      reason: error instanceof ArtifactFetchError ? error.reason : "unexpected",
      message: error instanceof Error ? error.message : String(error),
      leftovers: siblings,
    };
  }
}
console.log(JSON.stringify(report));
