// The agent's cache of unpacked artifacts (agent/apps/artifact-cache.ts) under Bun and Deno, against
// a real control plane: a second release of the same artifact is copied from the cache and the
// control plane is not asked again (its audit log counts the fetches); an app writing into its copy
// leaves the cache as it was verified; the bound evicts the least recently used entry, which is then
// fetched again. The artifact is 40 MiB, so the Worker serves it in three ranged reads
// (worker/artifacts/ranged-body.ts) and the agent's sha256 checks they join up exactly.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outpost } from "../sdk/index.ts";
import { uploadArtifact } from "../sdk/index.ts";
import { RUNTIMES, report } from "./agent-harness/processes.ts";
import { type AgentRuntime, runAgent } from "./harness/agent.ts";
import { grant, makeTree } from "./harness/artifacts.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let tenant: { id: string; client: Outpost };
const big = randomBytes(40 * 1024 * 1024);

async function enroll(client: Outpost, name: string, runtime: AgentRuntime) {
  const { token } = await client.tokens.create({ cluster: "prod", site: "fra1" });
  const stateDir = mkdtempSync(join(tmpdir(), `outpost-cache-${name}-`));
  const p = runAgent(runtime, [
    "enroll",
    "--url",
    stack.url,
    "--token",
    token,
    "--name",
    name,
    "--state-dir",
    stateDir,
  ]);
  if ((await p.exited) !== 0) throw new Error(`enroll failed: ${p.output()}`);
  return { hostId: (await tenant.client.hosts.get(`${name}.prod`)).host.id, stateDir };
}

beforeAll(async () => {
  stack = await startStack();
  tenant = await stack.tenantInProd("cache");
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe.each(RUNTIMES)("the artifact cache of an agent on %s", (runtime) => {
  // biome-ignore lint/suspicious/noExplicitAny: a JSON report, checked field by field below
  let r: Record<string, any>;
  let fetchEvents: number;

  beforeAll(async () => {
    const host = await enroll(tenant.client, `cache-${runtime}`, runtime);
    const treeA = makeTree({ "payload.bin": big, "bin/start": "#!/bin/sh\nexit 0\n", "lib/x": "x\n" });
    spawnSync("chmod", ["755", join(treeA, "bin/start")]);
    spawnSync("ln", ["-s", "lib", join(treeA, "current")]);
    const a = await uploadArtifact(tenant.client, treeA);
    const b = await uploadArtifact(tenant.client, makeTree({ "other.txt": `other ${runtime}\n` }));
    for (const art of [a, b]) await grant(stack.dbUrl, tenant.id, host.hostId, art.sha256);
    r = await report(runtime, "artifact-cache-check.ts", [], {
      OUTPOST_CACHE_CHECK: JSON.stringify({
        stateDir: host.stateDir,
        a: { sha256: a.sha256, size: a.size },
        b: { sha256: b.sha256, size: b.size },
        member: "payload.bin",
      }),
    });
    const { events } = await tenant.client.audit({ limit: 200 });
    fetchEvents = events.filter(
      (e) => e.action === "artifact.fetch" && e.actor === `host:${host.hostId}` && e.outcome === "allowed",
    ).length;
  }, 180_000);

  it("copies a second release of the same artifact from the cache without asking the control plane", () => {
    const want = createHash("sha256").update(big).digest("hex");
    expect(r.first).toMatchObject({ source: "fetched", fetches: 1, member: want });
    expect(r.second).toMatchObject({ source: "cache", fetches: 1, member: want });
    expect(r.modes).toEqual({ start: "755", link: "lib" });
  });

  it("keeps the cached tree as verified when an app writes into its copy", () => {
    expect(r.secondMember).not.toBe(r.first.member);
    expect(r.afterWrite).toMatchObject({ source: "cache", fetches: 1, member: r.first.member });
  });

  it("evicts the least recently used entry past its bound, and fetches it again when needed", () => {
    expect(r.other).toMatchObject({ source: "fetched", fetches: 2 });
    expect(r.other.entries).toHaveLength(1);
    expect(r.other.entries[0]).not.toBe(r.first.entries[0]);
    expect(r.evicted).toMatchObject({ source: "fetched", fetches: 3, member: r.first.member });
    // The control plane's own count: three fetches for five releases.
    expect(fetchEvents).toBe(3);
  });
});
