// Packing a directory into the artifact format: a gzip'd tar, deterministic, so that an unchanged
// directory gives the same sha256 and a second deploy uploads nothing. Entries are sorted (by name,
// at each level), every mtime is the epoch, owners are 0/0 with no names, modes are 0644/0755 only.
// What `.outpostignore` (gitignore syntax, the `ignore` library: the same matcher as eslint's and
// prettier's) names is left out. The tar.gz goes to a temporary file as it is made, hashed on the way:
// memory stays bounded whatever the directory's size, and the upload can then send any part of it.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdtemp, open, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import ignore, { type Ignore } from "ignore";
import { createTarPacker, type TarPackController } from "modern-tar";
import { cachedSha256, fileStamp, rememberSha256 } from "./hash-cache.ts";

export interface PackedArtifact {
  /** The tar.gz on disk (a temporary file when packed from a directory). */
  path: string;
  sha256: string;
  size: number;
  /** Removes the temporary file, if one was made. */
  cleanup(): Promise<void>;
}

export interface PackOptions {
  /** The ignore file's name inside the directory (default `.outpostignore`). */
  ignoreFile?: string;
  /**
   * A file remembering the sha256 of .tar.gz files already hashed (hash-cache.ts), so an unchanged
   * file is not read again; without it every file is hashed.
   */
  hashCache?: string;
}

const EPOCH = new Date(0);
const GZIP_MAGIC = [0x1f, 0x8b];

/** A directory packed, or a .tar.gz file taken as it is (checked to be gzip). */
export async function packArtifact(source: string, opts: PackOptions = {}): Promise<PackedArtifact> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(source);
  } catch {
    throw new Error(`cannot read ${source}: no such file or directory`);
  }
  if (info.isDirectory()) return packDirectory(source, opts);
  if (!info.isFile()) throw new Error(`cannot pack ${source}: not a directory or a .tar.gz file`);
  const head = new Uint8Array(2);
  const file = await open(source, "r");
  try {
    await file.read(head, 0, 2, 0);
  } finally {
    await file.close();
  }
  if (head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1])
    throw new Error(`${source} is not a gzip'd tar (.tar.gz); give a directory or a .tar.gz file`);
  const stamp = opts.hashCache ? await fileStamp(source) : undefined;
  const remembered = stamp ? await cachedSha256(opts.hashCache!, stamp) : undefined;
  if (remembered) return { path: source, sha256: remembered, size: info.size, cleanup: async () => {} };
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
  const sha256 = hash.digest("hex");
  if (stamp) await rememberSha256(opts.hashCache!, stamp, sha256);
  return { path: source, sha256, size: info.size, cleanup: async () => {} };
}

async function packDirectory(dir: string, opts: PackOptions): Promise<PackedArtifact> {
  const ignoreFile = opts.ignoreFile ?? ".outpostignore";
  const rules = ignore();
  const text = await readFile(join(dir, ignoreFile), "utf8").catch(() => undefined);
  if (text !== undefined) rules.add(text);
  const tempDir = await mkdtemp(join(tmpdir(), "outpost-pack-"));
  const path = join(tempDir, "artifact.tar.gz");
  const cleanup = () => rm(tempDir, { recursive: true, force: true });
  try {
    const { readable, controller } = createTarPacker();
    const hash = createHash("sha256");
    let size = 0;
    const hashing = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        hash.update(chunk);
        size += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    const written = readable
      .pipeThrough(new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>)
      .pipeThrough(hashing)
      .pipeTo(Writable.toWeb(createWriteStream(path)) as WritableStream<Uint8Array>);
    try {
      await _addTree(controller, dir, "", rules);
      controller.finalize();
    } catch (error) {
      controller.error(error);
      await written.catch(() => {});
      throw error;
    }
    await written;
    return { path, sha256: hash.digest("hex"), size, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Adds `dir`/`rel`'s entries, sorted, depth first; `rel` is "" or ends with "/". */
async function _addTree(packer: TarPackController, root: string, rel: string, rules: Ignore): Promise<void> {
  const names = (await readdir(join(root, rel))).sort();
  for (const name of names) {
    const relPath = `${rel}${name}`;
    const full = join(root, relPath);
    const info = await lstat(full);
    const owner = { mtime: EPOCH, uid: 0, gid: 0, uname: "", gname: "" };
    if (info.isDirectory()) {
      if (rules.ignores(`${relPath}/`)) continue;
      await _close(packer.add({ name: `${relPath}/`, type: "directory", size: 0, mode: 0o755, ...owner }));
      await _addTree(packer, root, `${relPath}/`, rules);
    } else if (rules.ignores(relPath)) {
    } else if (info.isSymbolicLink()) {
      const linkname = await readlink(full);
      await _close(packer.add({ name: relPath, type: "symlink", size: 0, mode: 0o777, linkname, ...owner }));
    } else if (info.isFile()) {
      const mode = info.mode & 0o100 ? 0o755 : 0o644;
      const body = packer.add({ name: relPath, type: "file", size: info.size, mode, ...owner });
      await (Readable.toWeb(createReadStream(full)) as ReadableStream<Uint8Array>).pipeTo(body);
    } else {
      throw new Error(`cannot pack ${full}: not a file, directory or symlink (list it in .outpostignore)`);
    }
  }
}

async function _close(body: WritableStream<Uint8Array>): Promise<void> {
  await body.getWriter().close();
}
