// Runs agent/apps/artifact-cache.ts for real on whichever runtime runs this file, as an enrolled host,
// against a real control plane, and prints one JSON report: test/artifact-cache.test.ts runs it under
// Bun and Deno. OUTPOST_CACHE_CHECK names the state dir, two granted artifacts (a and b) and a
// member of a to compare; the cache is bounded to one entry, so b evicts a.
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { ArtifactCache } from "../../agent/apps/artifact-cache.ts";
import { fetchArtifact } from "../../agent/apps/artifact-fetch.ts";
import { detectRuntime } from "../../agent/runtime/index.ts";
import { loadIdentity } from "../../agent/state.ts";
import { Signer } from "../../schema/protocol/index.ts";

interface Ref {
  sha256: string;
  size: number;
}

const runtime = detectRuntime();
const input = JSON.parse(runtime.env("OUTPOST_CACHE_CHECK") ?? "{}") as {
  stateDir: string;
  a: Ref;
  b: Ref;
  member: string;
};
const { state, seed } = await loadIdentity(runtime, input.stateDir);
const ctx = { url: state.url, hostId: state.hostId, signer: await Signer.fromSeed(seed) };
let fetches = 0;
const cache = new ArtifactCache(
  `${input.stateDir}/artifacts`,
  (ref) => {
    fetches++;
    return fetchArtifact(ctx, ref);
  },
  { maxBytes: 1024 ** 3, maxEntries: 1 },
);
const rel = (n: number) => `${input.stateDir}/apps/cached/releases/${n}`;
const digest = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const report: Record<string, unknown> = {};
const steps: [string, Ref, number][] = [
  ["first", input.a, 1],
  ["second", input.a, 2],
  ["afterWrite", input.a, 3],
  ["other", input.b, 4],
  ["evicted", input.a, 5],
];
for (const [name, ref, n] of steps) {
  try {
    const got = await cache.prepare({ ...ref, destDir: rel(n) });
    report[name] = {
      source: got.source,
      fetches,
      entries: (await cache.entries()).map((e) => e.sha256),
      member: ref === input.a ? digest(`${rel(n)}/${input.member}`) : undefined,
    };
  } catch (error) {
    report[name] = { error: error instanceof Error ? error.message : String(error) };
  }
  // The app of release 2 writes into its own copy: the cache must not see it.
  if (name === "second") {
    try {
      writeFileSync(`${rel(2)}/${input.member}`, "written by the app\n");
    } catch {}
  }
}
try {
  report.modes = {
    start: (statSync(`${rel(1)}/bin/start`).mode & 0o777).toString(8),
    link: lstatSync(`${rel(1)}/current`).isSymbolicLink() ? readlinkSync(`${rel(1)}/current`) : "not a link",
  };
  report.secondMember = digest(`${rel(2)}/${input.member}`);
} catch (error) {
  report.after = String(error);
}
console.log(JSON.stringify(report));
