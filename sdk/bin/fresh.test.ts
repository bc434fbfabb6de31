import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript (it runs before tsx), no declarations
import { bundleIsFresh } from "./fresh.js";

describe("bundleIsFresh (sdk/bin/outpost.js runs dist/cli.js only while it is)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function layout(sourceAge: number) {
    const dir = mkdtempSync(join(tmpdir(), "outpost-fresh-"));
    dirs.push(dir);
    const now = Date.now() / 1000;
    writeFileSync(join(dir, "a.ts"), "");
    writeFileSync(join(dir, "b.ts"), "");
    writeFileSync(join(dir, "cli.js"), "");
    writeFileSync(join(dir, "cli.inputs.json"), JSON.stringify(["a.ts", "b.ts"]));
    utimesSync(join(dir, "cli.js"), now - 100, now - 100);
    utimesSync(join(dir, "a.ts"), now - 200, now - 200);
    utimesSync(join(dir, "b.ts"), now - sourceAge, now - sourceAge);
    const url = (f: string) => pathToFileURL(join(dir, f));
    return { dir, bundle: url("cli.js"), inputs: url("cli.inputs.json") };
  }

  it("is fresh when every source is older than the bundle", () => {
    const { bundle, inputs } = layout(150);
    expect(bundleIsFresh(bundle, inputs)).toBe(true);
  });

  it("is stale when a source changed after the build", () => {
    const { bundle, inputs } = layout(10);
    expect(bundleIsFresh(bundle, inputs)).toBe(false);
  });

  it("is stale when a source is gone, the list is unreadable, or nothing was built", () => {
    const gone = layout(150);
    rmSync(join(gone.dir, "b.ts"));
    expect(bundleIsFresh(gone.bundle, gone.inputs)).toBe(false);
    const garbled = layout(150);
    writeFileSync(join(garbled.dir, "cli.inputs.json"), "{");
    expect(bundleIsFresh(garbled.bundle, garbled.inputs)).toBe(false);
    const unbuilt = layout(150);
    rmSync(join(unbuilt.dir, "cli.js"));
    expect(bundleIsFresh(unbuilt.bundle, unbuilt.inputs)).toBe(false);
  });
});
