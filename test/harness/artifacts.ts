// Artifacts for tests: a directory tree to pack, hand-made tar.gz files (including the hostile members
// the SDK would never write), and grants written the way a deployment writes them.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { packTar, type TarEntry } from "modern-tar";
import { parseId } from "../../schema/ids.ts";
import { parseHostId } from "../../schema/protocol/keys.ts";
import { grantArtifact } from "../../worker/artifacts/grants.ts";

/** Writes `files` (path → content) under a new temp dir and returns it. */
export function makeTree(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), "outpost-tree-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A tar.gz of `entries` exactly as given (names, types and links unchecked). */
export async function tarGz(entries: TarEntry[]): Promise<Uint8Array> {
  const tar = await packTar(entries);
  const gz = new Blob([tar]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(gz).arrayBuffer());
}

export function file(name: string, content: string, mode = 0o644): TarEntry {
  return {
    header: { name, type: "file", size: new TextEncoder().encode(content).length, mode },
    body: content,
  };
}

/** Writes `bytes` to a temp file named like an artifact and returns its path. */
export function writeTemp(bytes: Uint8Array, name = "artifact.tar.gz"): string {
  const path = join(mkdtempSync(join(tmpdir(), "outpost-artifact-")), name);
  writeFileSync(path, bytes);
  return path;
}

/** grantArtifact against the test's database, as i13-apps's deploy calls it. */
export async function grant(dbUrl: string, tenantId: string, hostId: string, sha256: string): Promise<void> {
  const client = createClient({ url: dbUrl });
  try {
    await grantArtifact(drizzle(client), {
      tenantId: parseId("tenant", tenantId),
      hostId: parseHostId(hostId),
      sha256,
    });
  } finally {
    client.close();
  }
}
