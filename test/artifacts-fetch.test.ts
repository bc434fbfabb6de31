// An agent fetching artifacts (agent/apps/artifact-fetch.ts) from a real control plane, under Bun and
// Deno: only granted hosts, authenticated by their own key, sha256 verified, unpacked atomically, and
// nothing left behind by a corrupt artifact, an unsafe member or a full disk.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signArtifactFetch } from "../schema/protocol/artifact-fetch.ts";
import { generateKeyPair, Signer, secretKeyBytes } from "../schema/protocol/index.ts";
import type { Outpost } from "../sdk/index.ts";
import { uploadArtifact } from "../sdk/index.ts";
import { RUNTIMES, report } from "./agent-harness/processes.ts";
import { type AgentRuntime, runAgent } from "./harness/agent.ts";
import { file, grant, makeTree, tarGz, writeTemp } from "./harness/artifacts.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let a: { id: string; client: Outpost };
let b: { id: string; client: Outpost };

async function enroll(client: Outpost, name: string, runtime: AgentRuntime) {
  const { token } = await client.tokens.create({ cluster: "prod", site: "fra1" });
  const stateDir = mkdtempSync(join(tmpdir(), `outpost-fetch-${name}-`));
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
  const host = (await client.hosts.get(`${name}.prod`)).host;
  return { hostId: host.id, stateDir };
}

/** Uploads a tar.gz (bytes) or a directory for `tenant`; returns its sha256 and size. */
async function upload(client: Outpost, source: string | Uint8Array) {
  const r = await uploadArtifact(client, typeof source === "string" ? source : writeTemp(source));
  return { sha256: r.sha256, size: r.size };
}

beforeAll(async () => {
  stack = await startStack();
  a = await stack.tenantInProd("fetch-a");
  b = await stack.tenantInProd("fetch-b");
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe.each(RUNTIMES)("an agent on %s fetching artifacts", (runtime) => {
  // biome-ignore lint/suspicious/noExplicitAny: a JSON report, checked field by field below
  let r: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: the same, for the host that was granted nothing
  let other: Record<string, any>;
  let host: { hostId: string; stateDir: string };
  let good: { sha256: string; size: number };
  const releases = mkdtempSync(join(tmpdir(), `outpost-releases-${runtime}-`));
  const dest = (name: string) => join(releases, name, "releases", "1");
  // Larger than the agent's write buffer and not a multiple of it: whole buffers and a partial one.
  const blob = randomBytes((5 << 19) + 4097);

  beforeAll(async () => {
    host = await enroll(a.client, `web-${runtime}`, runtime);
    const bystander = await enroll(a.client, `idle-${runtime}`, runtime);
    const tree = makeTree({
      "server.js": "console.log('hi')\n",
      "bin/start": "#!/bin/sh\nexec node server.js\n",
      "lib/deep/data.json": '{"a":1}\n',
      "assets/blob.bin": blob,
    });
    spawnSync("chmod", ["755", join(tree, "bin/start")]);
    spawnSync("ln", ["-s", "lib/deep", join(tree, "current")]);
    good = await upload(a.client, tree);
    const corrupt = await upload(a.client, await tarGz([file("x.txt", "the real bytes")]));
    const bad = {
      dotdot: await upload(a.client, await tarGz([file("ok.txt", "ok"), file("a/../../escaped.txt", "x")])),
      absolute: await upload(a.client, await tarGz([file("/tmp/outpost-absolute.txt", "x")])),
      symlinkOut: await upload(
        a.client,
        await tarGz([{ header: { name: "up", type: "symlink", size: 0, linkname: "../../.." } }]),
      ),
      throughSymlink: await upload(
        a.client,
        await tarGz([
          { header: { name: "here", type: "symlink", size: 0, linkname: "." } },
          file("here/../x.txt", "x"),
          file("here/y.txt", "y"),
        ]),
      ),
      device: await upload(
        a.client,
        await tarGz([{ header: { name: "tty", type: "character-device", size: 0 } }]),
      ),
      duplicate: await upload(a.client, await tarGz([file("twice.txt", "one"), file("twice.txt", "two")])),
    };
    for (const artifact of [good, corrupt, ...Object.values(bad)])
      await grant(stack.dbUrl, a.id, host.hostId, artifact.sha256);
    // The bucket's copy altered behind the control plane's back: same size, other bytes.
    const bucket = await stack.cp.mf.getR2Bucket("ARTIFACTS");
    const original = new Uint8Array(
      await (await bucket.get(`artifacts/${a.id}/${corrupt.sha256}`))!.arrayBuffer(),
    );
    original[original.length - 5]! ^= 0xff;
    await bucket.put(`artifacts/${a.id}/${corrupt.sha256}`, original);
    const cases = [
      { name: "good", ...good, destDir: dest("good") },
      { name: "again", ...good, destDir: dest("good") },
      { name: "corrupt", ...corrupt, destDir: dest("corrupt") },
      { name: "wrongSize", sha256: good.sha256, size: good.size + 1, destDir: dest("wrong-size") },
      ...Object.entries(bad).map(([name, artifact]) => ({ name, ...artifact, destDir: dest(name) })),
    ];
    r = await report(runtime, "artifact-fetch-check.ts", [], {
      OUTPOST_FETCH_CHECK: JSON.stringify({ stateDir: host.stateDir, cases }),
    });
    other = await report(runtime, "artifact-fetch-check.ts", [], {
      OUTPOST_FETCH_CHECK: JSON.stringify({
        stateDir: bystander.stateDir,
        cases: [{ name: "notGranted", ...good, destDir: join(releases, "other", "1") }],
      }),
    });
  }, 120_000);

  it("unpacks a granted artifact into destDir with its modes and symlinks", () => {
    expect(r.good).toMatchObject({ ok: true });
    const root = dest("good");
    expect(readFileSync(join(root, "server.js"), "utf8")).toBe("console.log('hi')\n");
    expect(readFileSync(join(root, "lib/deep/data.json"), "utf8")).toBe('{"a":1}\n');
    expect(readFileSync(join(root, "assets/blob.bin")).equals(blob)).toBe(true);
    expect(statSync(join(root, "bin/start")).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, "server.js")).mode & 0o777).toBe(0o644);
    expect(readlinkSync(join(root, "current"))).toBe("lib/deep");
    expect(r.again).toMatchObject({ ok: true }); // already there: a redelivered action does nothing
  });

  it("refuses a host the artifact was not granted to", () => {
    expect(other.notGranted).toMatchObject({ ok: false, reason: "refused" });
    expect(other.notGranted.message).toMatch(/refused/);
    expect(other.notGranted.leftovers).toEqual([]);
  });

  it("leaves nothing when the bytes fail their checksum or size", () => {
    expect(r.corrupt).toMatchObject({ ok: false, reason: "corrupt" });
    expect(r.wrongSize).toMatchObject({ ok: false, reason: "corrupt" });
    for (const name of ["corrupt", "wrongSize"]) expect(r[name].leftovers).toEqual([]);
    expect(existsSync(dest("corrupt"))).toBe(false);
  });

  it("refuses unsafe members and leaves nothing, inside or outside the tree", () => {
    for (const name of ["dotdot", "absolute", "symlinkOut", "throughSymlink", "device", "duplicate"]) {
      expect(r[name], name).toMatchObject({ ok: false, reason: "unsafe" });
      expect(r[name].leftovers, name).toEqual([]);
      expect(existsSync(dest(name)), name).toBe(false);
    }
    expect(r.dotdot.message).toMatch(/'\.\.' segment/);
    expect(r.device.message).toMatch(/character-device/);
    expect(existsSync(join(releases, "escaped.txt"))).toBe(false);
    expect(existsSync("/tmp/outpost-absolute.txt")).toBe(false);
  });
});

describe("the fetch credential", () => {
  let host: { hostId: string; stateDir: string };
  let sha: string;
  let signer: Signer;
  const get = (headers: Record<string, string>, sha256 = sha) =>
    fetch(`${stack.url}/v1/agent/artifacts/${sha256}`, { headers });

  beforeAll(async () => {
    host = await enroll(a.client, "cred", "bun");
    ({ sha256: sha } = await upload(a.client, await tarGz([file("a.txt", "a")])));
    await grant(stack.dbUrl, a.id, host.hostId, sha);
    signer = await Signer.fromSeed(
      secretKeyBytes(readFileSync(join(host.stateDir, "host.key"), "utf8").trim()),
    );
  }, 60_000);

  it("serves a signed request once, and refuses its replay", async () => {
    const headers = await signArtifactFetch(signer, { hostId: host.hostId, sha256: sha, time: Date.now() });
    const first = await get(headers);
    expect(first.status).toBe(200);
    expect((await first.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const replay = await get(headers);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: { code: "replayed" } });
  });

  it("refuses a request signed by another key, an old one, or one for another artifact", async () => {
    const forger = await Signer.fromSeed((await generateKeyPair()).seed);
    const forged = await signArtifactFetch(forger, {
      hostId: host.hostId,
      sha256: sha,
      time: Date.now() + 1,
    });
    expect((await get(forged)).status).toBe(401);
    const old = await signArtifactFetch(signer, {
      hostId: host.hostId,
      sha256: sha,
      time: Date.now() - 600_000,
    });
    expect(await (await get(old)).json()).toMatchObject({ error: { code: "clock_skew" } });
    // A signature for one artifact is no good for another.
    const other = await upload(a.client, await tarGz([file("b.txt", "b")]));
    await grant(stack.dbUrl, a.id, host.hostId, other.sha256);
    const forSha = await signArtifactFetch(signer, {
      hostId: host.hostId,
      sha256: sha,
      time: Date.now() + 2,
    });
    expect((await get(forSha, other.sha256)).status).toBe(401);
    expect((await get({})).status).toBe(401);
  });

  it("never serves another tenant's artifact, even to a host with a valid key", async () => {
    const theirs = await enroll(b.client, "theirs", "bun");
    const theirSigner = await Signer.fromSeed(
      secretKeyBytes(readFileSync(join(theirs.stateDir, "host.key"), "utf8").trim()),
    );
    const headers = await signArtifactFetch(theirSigner, {
      hostId: theirs.hostId,
      sha256: sha,
      time: Date.now(),
    });
    expect((await get(headers)).status).toBe(404);
    // Nor may tenant b grant tenant a's artifact to its host.
    await expect(grant(stack.dbUrl, b.id, theirs.hostId, sha)).rejects.toThrow(/not found/);
    // Nor may tenant a grant its artifact to tenant b's host.
    await expect(grant(stack.dbUrl, a.id, theirs.hostId, sha)).rejects.toThrow(/not found/);
  });
});

/** A 1 MiB tmpfs (root only): a disk that fills up. */
function smallDisk(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "outpost-full-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
  return mounted.status === 0 ? dir : undefined;
}

describe.each(RUNTIMES)("a full disk on %s", (runtime) => {
  const disk = smallDisk();
  afterAll(() => {
    if (disk) spawnSync("umount", [disk]);
  });

  it.skipIf(!disk)(
    "fails with a clear error and leaves nothing",
    async () => {
      const host = await enroll(a.client, `full-${runtime}`, runtime);
      const big = await upload(
        a.client,
        await tarGz([
          { header: { name: "big.bin", type: "file", size: 2 << 20 }, body: randomBytes(2 << 20) },
        ]),
      );
      await grant(stack.dbUrl, a.id, host.hostId, big.sha256);
      mkdirSync(join(disk!, "app"));
      const out = await report(runtime, "artifact-fetch-check.ts", [], {
        OUTPOST_FETCH_CHECK: JSON.stringify({
          stateDir: host.stateDir,
          cases: [{ name: "full", ...big, destDir: join(disk!, "app", "1") }],
        }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: a JSON report
      const full = (out as Record<string, any>).full;
      expect(full).toMatchObject({ ok: false, reason: "no_space" });
      expect(full.message).toMatch(/no space left/);
      expect(full.leftovers).toEqual([]);
      expect(lstatSync(join(disk!, "app")).isDirectory()).toBe(true);
    },
    60_000,
  );
});
