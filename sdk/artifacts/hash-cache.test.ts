// The CLI's memory of .tar.gz sha256s (hash-cache.ts): used while a file is unchanged, never after it
// was rewritten (even to the same size), and never remembered for a file that changed while hashed.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cachedSha256, fileStamp, rememberSha256 } from "./hash-cache.ts";
import { packArtifact } from "./pack.ts";

const gz = (text: string) => {
  // A gzip header is all packArtifact checks before hashing a file.
  return Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from(text)]);
};

describe("the sha256 cache of packed files", () => {
  const dir = mkdtempSync(join(tmpdir(), "outpost-hash-cache-"));
  const cache = join(dir, "config", "hash-cache.json");
  const file = join(dir, "app.tar.gz");

  it("answers from the cache for an unchanged file, and hashes a rewritten one again", async () => {
    writeFileSync(file, gz("first"));
    const first = await packArtifact(file, { hashCache: cache });
    expect(first.sha256).toBe(createHash("sha256").update(readFileSync(file)).digest("hex"));
    expect(JSON.parse(readFileSync(cache, "utf8"))).toHaveLength(1);
    // Plant a wrong sha256 for the file as it is now: an unchanged file is taken from the cache.
    const planted = "ab".repeat(32);
    writeFileSync(
      cache,
      JSON.stringify([{ ...JSON.parse(readFileSync(cache, "utf8"))[0], sha256: planted }]),
    );
    expect((await packArtifact(file, { hashCache: cache })).sha256).toBe(planted);
    // Rewritten with the same size: its ctime moved, so it is hashed again.
    writeFileSync(file, gz("other"));
    const again = await packArtifact(file, { hashCache: cache });
    expect(again.sha256).toBe(createHash("sha256").update(readFileSync(file)).digest("hex"));
    expect(again.sha256).not.toBe(planted);
  });

  it("does not remember a file that changed while it was hashed", async () => {
    writeFileSync(file, gz("one"));
    const before = await fileStamp(file);
    writeFileSync(file, gz("two"));
    await rememberSha256(cache, before, "cd".repeat(32));
    expect(await cachedSha256(cache, await fileStamp(file))).not.toBe("cd".repeat(32));
    expect(await cachedSha256(cache, before)).toBeUndefined();
  });
});
