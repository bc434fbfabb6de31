// The known-answer vectors in test/vectors/: current with the generator, and passing in every runtime
// the protocol runs in: Node (here), workerd (the Worker, via miniflare), Bun and Deno (the agent).
// frames.json is the agent's signed frames; client-frames.json the client stream frames (checked with
// them in every runtime: check-worker.ts, check-vectors.ts).

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { describe, expect, it } from "vitest";
import { checkVectors } from "../../test/vectors/check.ts";
import { checkClientVectors } from "../../test/vectors/client-check.ts";
import clientFrames from "../../test/vectors/client-frames.json" with { type: "json" };
import { type ClientVectorFile, generateClientVectors } from "../../test/vectors/client-generate.ts";
import frames from "../../test/vectors/frames.json" with { type: "json" };
import { generateVectors, type VectorFile } from "../../test/vectors/generate.ts";
import { _FRAME_SPECS } from "./_frame-specs.ts";
import { STREAM_FRAME_TYPES } from "./client-frames.ts";

const file = frames as unknown as VectorFile;
const clientFile = clientFrames as unknown as ClientVectorFile;
const root = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

describe("known-answer vectors (test/vectors/frames.json)", () => {
  it("are what scripts/gen-vectors.ts writes (run it after changing the wire format)", async () => {
    expect(JSON.parse(JSON.stringify(await generateVectors()))).toEqual(file);
  });

  it("cover every frame type and both directions", () => {
    const types = new Set(file.valid.map((v) => (v.frame as { t: string }).t));
    expect([...types].sort()).toEqual(Object.keys(_FRAME_SPECS).sort());
    expect(new Set(file.valid.map((v) => v.direction))).toEqual(new Set(["cp>agent", "agent>cp"]));
  });

  it("pass in Node", async () => {
    expect(await checkVectors(file)).toEqual([]);
  });

  it("catch a changed vector", async () => {
    const broken = structuredClone(file);
    broken.valid[0]!.messageHex = broken.valid[0]!.messageHex.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    broken.invalid[0]!.error = "malformed";
    const failures = await checkVectors(broken);
    expect(failures.some((f) => f.includes("sealed message differs"))).toBe(true);
    expect(failures.some((f) => f.includes("expected malformed"))).toBe(true);
  });

  it("pass in workerd", { timeout: 60_000 }, async () => {
    const bundle = await build({
      entryPoints: [`${root}test/vectors/check-worker.ts`],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      write: false,
    });
    const mf = new Miniflare({
      modules: true,
      script: bundle.outputFiles[0]!.text,
      compatibilityDate: "2026-04-01",
    });
    try {
      const result = await (await mf.dispatchFetch("http://vectors/")).json();
      expect(result).toEqual({
        runtime: "Cloudflare-Workers",
        backend: "webcrypto",
        failures: [],
        client: [],
      });
    } finally {
      await mf.dispose();
    }
  });

  for (const [runtime, args] of [
    ["bun", ["test/vectors/check-vectors.ts"]],
    ["deno", ["run", "test/vectors/check-vectors.ts"]],
  ] as const) {
    it(`pass in ${runtime}`, { timeout: 120_000 }, async () => {
      const { stdout } = await run(`${root}node_modules/.bin/${runtime}`, args, { cwd: root });
      expect(stdout).toMatch(
        new RegExp(
          `^ok: ${file.valid.length} valid and ${file.invalid.length} invalid vectors, ` +
            `${clientFile.valid.length + clientFile.normalized.length} valid and ${clientFile.invalid.length} ` +
            `invalid client frame vectors on ${runtime}`,
        ),
      );
    });
  }
});

describe("client stream frame vectors (test/vectors/client-frames.json)", () => {
  it("are what scripts/gen-vectors.ts writes (run it after changing the client frames)", () => {
    expect(JSON.parse(JSON.stringify(generateClientVectors()))).toEqual(clientFile);
  });

  it("cover every frame type, and each from both sides where both may send it", () => {
    const sent = (sender: string) =>
      new Set(clientFile.valid.filter((v) => v.sender === sender).map((v) => (v.frame as { t: string }).t));
    expect(new Set([...sent("client"), ...sent("server")])).toEqual(new Set(STREAM_FRAME_TYPES));
    for (const t of ["credit", "data", "fin"]) {
      expect(sent("client").has(t) && sent("server").has(t), t).toBe(true);
    }
    expect(new Set(clientFile.invalid.map((v) => v.error))).toEqual(new Set(["malformed", "unknown_frame"]));
  });

  it("pass in Node", () => {
    expect(checkClientVectors(clientFile)).toEqual([]);
  });

  it("catch a changed vector", () => {
    const broken = structuredClone(clientFile);
    broken.valid[0]!.hex = broken.valid[0]!.hex.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    broken.normalized[0]!.frame = { t: "stdin", data: { $hex: "78" }, eof: false };
    broken.invalid[0]!.error = "unknown_frame";
    broken.invalid[1]!.message = "Cannot decode stream frame: some other reason";
    const failures = checkClientVectors(broken);
    expect(failures.some((f) => f.includes(`"${broken.valid[0]!.name}": encoding differs`))).toBe(true);
    expect(failures.some((f) => f.includes(`"${broken.normalized[0]!.name}": decoded frame differs`))).toBe(
      true,
    );
    expect(failures.some((f) => f.includes("expected unknown_frame"))).toBe(true);
    expect(failures.some((f) => f.includes("some other reason"))).toBe(true);
  });
});
