// Uploading artifacts to a real control plane (workerd, Miniflare's R2, libSQL): deterministic packing
// with .outpostignore, parts, resume after the CLI is killed mid-way, skip what is stored, the server's
// own checksum, limits and quotas, other tenants, and `outpost artifact push|ls` as a real process.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { unpackTar } from "modern-tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Outpost, OutpostApiError, packArtifact, uploadArtifact } from "../sdk/index.ts";
import { eventually } from "./harness/agent.ts";
import { file, makeTree, tarGz, writeTemp } from "./harness/artifacts.ts";
import { CLI_BIN, runCli } from "./harness/cli.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

const MiB = 1024 * 1024;
const PART = 5 * MiB;

let stack: Stack;
let a: { id: string; token: string; client: Outpost };
let b: { id: string; token: string; client: Outpost };
const cliEnv = (token: string) => ({ OUTPOST_URL: stack.url, OUTPOST_TOKEN: token });

/** A .tar.gz of `bytes` random bytes (gzip cannot shrink them: the artifact is about that size). */
async function randomArtifact(bytes: number): Promise<string> {
  return writeTemp(
    await tarGz([{ header: { name: "blob.bin", type: "file", size: bytes }, body: randomBytes(bytes) }]),
  );
}

async function names(path: string): Promise<string[]> {
  const { readFileSync } = await import("node:fs");
  const tar = new Blob([readFileSync(path)]).stream().pipeThrough(new DecompressionStream("gzip"));
  return (await unpackTar(tar)).map((e) => e.header.name);
}

beforeAll(async () => {
  stack = await startStack({ artifacts: { partBytes: PART, maxBytes: 64 * MiB, quotaBytes: 100 * MiB } });
  a = await stack.tenantInProd("art-a");
  b = await stack.tenantInProd("art-b");
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe("packing", () => {
  it("is deterministic and honours .outpostignore", async () => {
    const dir = makeTree({
      ".outpostignore": "node_modules/\n*.log\n!keep.log\n",
      "server.js": "listen()\n",
      "node_modules/left/out.js": "x",
      "debug.log": "noise",
      "keep.log": "kept",
      "src/b.js": "b",
      "src/a.js": "a",
    });
    const first = await packArtifact(dir);
    expect(await names(first.path)).toEqual([
      ".outpostignore",
      "keep.log",
      "server.js",
      "src/",
      "src/a.js",
      "src/b.js",
    ]);
    // Touched, and an ignored file changed: the same bytes.
    writeFileSync(join(dir, "server.js"), "listen()\n");
    writeFileSync(join(dir, "debug.log"), "more noise");
    const second = await packArtifact(dir);
    expect(second.sha256).toBe(first.sha256);
    writeFileSync(join(dir, "src/a.js"), "changed");
    expect((await packArtifact(dir)).sha256).not.toBe(first.sha256);
    for (const p of [first, second]) await p.cleanup();
  });

  it("takes a .tar.gz as it is and refuses anything else", async () => {
    const path = writeTemp(await tarGz([file("a.txt", "a")]));
    const packed = await packArtifact(path);
    expect(packed.path).toBe(path);
    await expect(packArtifact(writeTemp(new TextEncoder().encode("plain"), "x.txt"))).rejects.toThrow(
      /not a gzip/,
    );
    await expect(packArtifact("/nonexistent/dir")).rejects.toThrow(/no such file/);
  });
});

describe("outpost artifact push and ls", () => {
  it("uploads once, then finds it stored and sends nothing; prints no progress off a terminal", async () => {
    const dir = makeTree({ "app.js": "console.log(1)\n", "lib/x.js": "x" });
    const first = await runCli(["artifact", "push", dir, "--json"], cliEnv(a.token));
    expect(first.code, first.stderr).toBe(0);
    const pushed = JSON.parse(first.stdout);
    expect(pushed).toMatchObject({ existed: false, partsSent: 1 });
    expect(first.stderr).toBe("");
    const again = await runCli(["artifact", "push", dir], cliEnv(a.token));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("stored already; nothing to upload");
    expect(again.stdout + again.stderr).not.toMatch(/\r|ETA/);
    const ls = await runCli(["artifact", "ls", "--json"], cliEnv(a.token));
    const listed = JSON.parse(ls.stdout);
    expect(Object.keys(listed)).toEqual(["items"]);
    expect(listed.items.map((i: { sha256: string }) => i.sha256)).toContain(pushed.sha256);
    expect(listed.items[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const table = await runCli(["artifact", "ls"], cliEnv(a.token));
    expect(table.stdout).toContain(pushed.sha256.slice(0, 16));
  });

  it("exits 2 on usage errors and prints help", async () => {
    expect((await runCli(["artifact", "push"], cliEnv(a.token))).code).toBe(2);
    expect((await runCli(["artifact", "frob"], cliEnv(a.token))).code).toBe(2);
    const help = await runCli(["artifact", "--help"], cliEnv(a.token));
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(".outpostignore");
    expect((await runCli(["artifact", "push", "/nonexistent"], cliEnv(a.token))).code).toBe(1);
  });

  it("resumes after the CLI is killed mid-way, sending only the missing parts", async () => {
    // The CLI is killed once the server has a first part; on a loaded machine it can have them all by
    // the time the kill lands (the server's answers to this test wait behind the upload). Such an
    // attempt proves nothing: it is abandoned (DELETE frees its quota) and tried with fresh bytes.
    for (let attempt = 1; ; attempt++) {
      const path = await randomArtifact(6 * PART - 1000);
      const { sha256, size } = await packArtifact(path);
      const parts = Math.ceil(size / PART);
      const child = spawn(process.execPath, [CLI_BIN, "artifact", "push", path, "--json"], {
        env: { ...process.env, ...cliEnv(a.token) },
        stdio: "ignore",
      });
      const exited = new Promise((resolve) => child.on("exit", resolve));
      // POST is idempotent: it answers with the upload in progress and the parts it has.
      const progress = async () => {
        const res = await a.client.api.v1.artifacts.$post({ json: { sha256, size } });
        const body = await res.json();
        if (body.exists) throw new Error("it finished before it could be killed");
        return body.upload;
      };
      await eventually(
        async () => {
          if ((await progress()).received.length === 0) throw new Error("no part yet");
        },
        30_000,
        20,
      );
      child.kill("SIGKILL");
      await exited;
      // A part whose bytes had all been sent when the CLI died can still land a moment later: count
      // once the server's count has held for a second.
      let upload = await progress();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = await progress();
        if (now.received.length === upload.received.length) break;
        upload = now;
      }
      const received = upload.received.length;
      expect(received).toBeGreaterThan(0);
      if (received === parts && attempt < 3) {
        const gone = await a.client.api.v1.artifacts.uploads[":id"].$delete({ param: { id: upload.id } });
        expect(gone.ok).toBe(true);
        continue;
      }
      expect(received).toBeLessThan(parts);
      const resumed = await runCli(["artifact", "push", path, "--json"], cliEnv(a.token));
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({
        sha256,
        existed: false,
        partsSent: parts - received,
      });
      const stored = await (await stack.cp.mf.getR2Bucket("ARTIFACTS")).head(`artifacts/${a.id}/${sha256}`);
      expect(stored?.size).toBe(size);
      return;
    }
  }, 240_000);
});

describe("the server's checks", () => {
  // The server does not re-hash (worker/artifacts/store.ts: the fetching agent is the gate, see
  // artifacts-fetch.test.ts "corrupt"); what it guarantees is that a lie stays in the liar's tenant.
  it("keeps a lying upload in its own tenant: another tenant claiming that sha256 stores its own bytes", async () => {
    const real = await packArtifact(writeTemp(await tarGz([file("real.txt", "the real bytes")])));
    const { readFileSync } = await import("node:fs");
    const honest = readFileSync(real.path);
    const lie = Uint8Array.from(honest);
    lie[lie.length - 5]! ^= 0xff;
    const started = await a.client.api.v1.artifacts.$post({ json: { sha256: real.sha256, size: real.size } });
    const { upload } = (await started.json()) as { upload: { id: string } };
    const put = await fetch(`${stack.url}/v1/artifacts/uploads/${upload.id}/parts/1`, {
      method: "PUT",
      headers: { authorization: `Bearer ${a.token}` },
      body: lie,
    });
    expect(put.status).toBe(200);
    const done = await raw(stack, "POST", `/v1/artifacts/uploads/${upload.id}/complete`, { token: a.token });
    expect(done.status).toBe(200);
    const bucket = await stack.cp.mf.getR2Bucket("ARTIFACTS");
    const bytes = async (key: string) => {
      const object = await bucket.get(key);
      return object ? new Uint8Array(await object.arrayBuffer()) : null;
    };
    expect(await bytes(`artifacts/${a.id}/${real.sha256}`)).toEqual(lie);
    expect(await bucket.head(`artifacts/${real.sha256}`)).toBeNull();
    // Tenant b is not told it exists and uploads the honest bytes, which a's lie cannot touch.
    const mine = await uploadArtifact(b.client, real.path);
    expect(mine).toMatchObject({ sha256: real.sha256, existed: false, partsSent: 1 });
    expect(await bytes(`artifacts/${b.id}/${real.sha256}`)).toEqual(new Uint8Array(honest));
    expect(await bytes(`artifacts/${a.id}/${real.sha256}`)).toEqual(lie);
  });

  it("refuses oversize artifacts and parts (413), a tenant over its quota (507), bad input (400)", async () => {
    const big = await raw(stack, "POST", "/v1/artifacts", {
      token: a.token,
      body: { sha256: "1".repeat(64), size: 64 * MiB + 1 },
    });
    expect(big.status).toBe(413);
    const okay = await raw(stack, "POST", "/v1/artifacts", {
      token: b.token,
      body: { sha256: "2".repeat(64), size: 60 * MiB },
    });
    expect(okay.status).toBe(201);
    const over = await raw(stack, "POST", "/v1/artifacts", {
      token: b.token,
      body: { sha256: "3".repeat(64), size: 60 * MiB },
    });
    expect(over.status).toBe(507);
    expect(over.body.error).toMatchObject({ code: "quota_exceeded" });
    const upload = (okay.body as unknown as { upload: { id: string } }).upload;
    const tooLong = await fetch(`${stack.url}/v1/artifacts/uploads/${upload.id}/parts/1`, {
      method: "PUT",
      headers: { authorization: `Bearer ${b.token}` },
      body: new Uint8Array(PART + 1),
    });
    expect(tooLong.status).toBe(413);
    const badPart = await fetch(`${stack.url}/v1/artifacts/uploads/${upload.id}/parts/99`, {
      method: "PUT",
      headers: { authorization: `Bearer ${b.token}` },
      body: new Uint8Array(10),
    });
    expect(badPart.status).toBe(400);
    const incomplete = await raw(stack, "POST", `/v1/artifacts/uploads/${upload.id}/complete`, {
      token: b.token,
    });
    expect(incomplete.status).toBe(409);
    expect(incomplete.body.error!.message).toMatch(/missing part\(s\) 1, 2/);
    expect(
      (await raw(stack, "DELETE", `/v1/artifacts/uploads/${upload.id}`, { token: b.token })).status,
    ).toBe(200);
    for (const body of [
      { sha256: "nothex", size: 1 },
      { sha256: "4".repeat(64), size: 0 },
      { sha256: "A".repeat(64), size: 1 },
    ])
      expect((await raw(stack, "POST", "/v1/artifacts", { token: a.token, body })).status).toBe(400);
  });

  it("lets viewers list but not upload", async () => {
    const viewer = await a.client.keys.create({ role: "viewer" });
    const denied = await raw(stack, "POST", "/v1/artifacts", {
      token: viewer.token,
      body: { sha256: "5".repeat(64), size: 10 },
    });
    expect(denied.status).toBe(403);
    expect((await raw(stack, "GET", "/v1/artifacts", { token: viewer.token })).status).toBe(200);
  });
});

describe("another tenant", () => {
  let sha256: string;
  let uploadId: string;

  beforeAll(async () => {
    ({ sha256 } = await uploadArtifact(a.client, makeTree({ "secret.txt": "tenant a's" })));
    const pending = await raw(stack, "POST", "/v1/artifacts", {
      token: a.token,
      body: { sha256: "6".repeat(64), size: 10 },
    });
    uploadId = (pending.body as unknown as { upload: { id: string } }).upload.id;
  });

  it("sees none of its artifacts or uploads (404)", async () => {
    expect((await raw(stack, "GET", `/v1/artifacts/${sha256}`, { token: b.token })).status).toBe(404);
    const listed = (await raw(stack, "GET", "/v1/artifacts", { token: b.token })).body as unknown as {
      items: { sha256: string }[];
    };
    expect(listed.items.map((i) => i.sha256)).not.toContain(sha256);
    expect((await raw(stack, "GET", `/v1/artifacts/uploads/${uploadId}`, { token: b.token })).status).toBe(
      404,
    );
    expect(
      (await raw(stack, "POST", `/v1/artifacts/uploads/${uploadId}/complete`, { token: b.token })).status,
    ).toBe(404);
    expect((await raw(stack, "DELETE", `/v1/artifacts/uploads/${uploadId}`, { token: b.token })).status).toBe(
      404,
    );
    const put = await fetch(`${stack.url}/v1/artifacts/uploads/${uploadId}/parts/1`, {
      method: "PUT",
      headers: { authorization: `Bearer ${b.token}` },
      body: new Uint8Array(10),
    });
    expect(put.status).toBe(404);
  });

  it("must upload the whole of bytes it claims, even when the bucket has them for someone else", async () => {
    const claim = await raw(stack, "POST", "/v1/artifacts", {
      token: b.token,
      body: { sha256, size: 10_000 },
    });
    expect(claim.status).toBe(201);
    expect(claim.body).toMatchObject({ exists: false, upload: { received: [] } });
    // Claiming it and completing with no bytes gets nothing.
    const id = (claim.body as unknown as { upload: { id: string } }).upload.id;
    const done = await raw(stack, "POST", `/v1/artifacts/uploads/${id}/complete`, { token: b.token });
    expect(done.status).toBe(409);
    expect((await raw(stack, "GET", `/v1/artifacts/${sha256}`, { token: b.token })).status).toBe(404);
    const err = await uploadArtifact(b.client, "/nonexistent").catch((e) => e);
    expect(err).not.toBeInstanceOf(OutpostApiError);
  });
});
