// The agent's content-addressed cache of unpacked artifacts: `<state>/artifacts/<sha256>/` is an
// artifact's tree exactly as it was fetched and verified (artifact-fetch.ts), and a release directory
// is a copy of it. So a release of an artifact this host already has (a second deploy of an unchanged
// app, a rollback, a restart of a pruned release) is neither fetched, nor hashed, nor unpacked again:
// it is one in-kernel copy per file (copyFile: copy_file_range, a reflink where the filesystem has
// them).
//
// Why a copy and not hardlinks or a symlink to the cache: an app may write into its own directory
// (a SQLite file shipped in the bundle, say), and a write through a hardlink would change the cached
// tree and every later release made from it. A copy keeps the cache as it was verified.
//
// Bounded: at most `maxBytes` of unpacked files (default 2 GiB, OUTPOST_ARTIFACT_CACHE_BYTES) and
// `maxEntries` trees (16); the least recently used go first, never one a release is being copied
// from. An artifact larger than the bound is not cached (it unpacks straight into its release).
// Each entry's size and last use are in `<sha256>.json` beside it; an entry without one (a crash
// between the rename and the write) is removed at the next eviction.
//
// Security: names are the sha256 (64 hex, checked by fetchArtifact before any path is made), so no
// path leaves `<state>/artifacts`. The cache directory is 0700.
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import type { ArtifactFetchStats, ArtifactRef } from "./artifact-fetch.ts";

export interface CacheLimits {
  maxBytes: number;
  maxEntries: number;
}

const DEFAULT_CACHE_LIMITS: CacheLimits = { maxBytes: 2 * 1024 ** 3, maxEntries: 16 };

/** The limits, with OUTPOST_ARTIFACT_CACHE_BYTES (a byte count; 0 turns the cache off) when set. */
export function cacheLimits(bytes: string | undefined): CacheLimits {
  if (bytes === undefined || bytes === "") return DEFAULT_CACHE_LIMITS;
  if (!/^\d{1,15}$/.test(bytes))
    throw new RangeError(`OUTPOST_ARTIFACT_CACHE_BYTES must be a byte count, not '${bytes.slice(0, 40)}'`);
  const maxBytes = Number(bytes);
  return { maxBytes, maxEntries: maxBytes === 0 ? 0 : DEFAULT_CACHE_LIMITS.maxEntries };
}

/** What preparing a release did, for the agent's log (and the deploy bench's phase rows). */
export interface PrepareStats {
  /** "cache": copied from an entry already here; "fetched": fetched (into the cache, then copied); "direct": fetched into the release (too large to cache). */
  source: "cache" | "fetched" | "direct";
  fetch?: ArtifactFetchStats;
  copyMs: number;
  totalMs: number;
}

interface EntryMeta {
  bytes: number;
  usedAt: number;
}

type Fetch = (ref: ArtifactRef) => Promise<ArtifactFetchStats | undefined>;

export class ArtifactCache {
  readonly #dir: string;
  readonly #limits: CacheLimits;
  readonly #fetch: Fetch;
  /** Entries a copy is being made from: never evicted meanwhile. */
  readonly #inUse = new Map<string, number>();

  constructor(dir: string, fetch: Fetch, limits: CacheLimits = DEFAULT_CACHE_LIMITS) {
    this.#dir = dir.replace(/\/+$/, "");
    this.#fetch = fetch;
    this.#limits = limits;
  }

  /** Makes `ref.destDir` the artifact's tree: from the cache when it is there, else fetched first. */
  async prepare(ref: ArtifactRef): Promise<PrepareStats> {
    const t0 = performance.now();
    if (ref.size > this.#limits.maxBytes || this.#limits.maxEntries < 1) {
      const fetched = await this.#fetch(ref);
      return {
        source: "direct",
        ...(fetched ? { fetch: fetched } : {}),
        copyMs: 0,
        totalMs: performance.now() - t0,
      };
    }
    const entry = `${this.#dir}/${ref.sha256}`;
    this.#inUse.set(ref.sha256, (this.#inUse.get(ref.sha256) ?? 0) + 1);
    try {
      let fetched: ArtifactFetchStats | undefined;
      let meta = await this.#meta(ref.sha256);
      if (!meta || !(await _isDir(entry))) {
        await mkdir(this.#dir, { recursive: true, mode: 0o700 });
        await rm(entry, { recursive: true, force: true });
        fetched = await this.#fetch({ ...ref, destDir: entry });
        meta = { bytes: fetched?.unpackedBytes ?? (await _treeBytes(entry)), usedAt: Date.now() };
      }
      const t1 = performance.now();
      await _copyTree(entry, ref.destDir);
      const copyMs = performance.now() - t1;
      await writeFile(`${entry}.json`, JSON.stringify({ ...meta, usedAt: Date.now() }), { mode: 0o600 });
      await this.#evict(ref.sha256);
      return {
        source: fetched ? "fetched" : "cache",
        ...(fetched ? { fetch: fetched } : {}),
        copyMs,
        totalMs: performance.now() - t0,
      };
    } catch (error) {
      await rm(ref.destDir, { recursive: true, force: true }).catch(() => {});
      throw error;
    } finally {
      const n = (this.#inUse.get(ref.sha256) ?? 1) - 1;
      if (n > 0) this.#inUse.set(ref.sha256, n);
      else this.#inUse.delete(ref.sha256);
    }
  }

  /** The entries kept now, newest use first (for tests and `agent status`). */
  async entries(): Promise<{ sha256: string; bytes: number; usedAt: number }[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    const out: { sha256: string; bytes: number; usedAt: number }[] = [];
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const meta = await this.#meta(name);
      if (meta) out.push({ sha256: name, ...meta });
    }
    return out.sort((a, b) => b.usedAt - a.usedAt);
  }

  async #meta(sha256: string): Promise<EntryMeta | undefined> {
    try {
      const meta = JSON.parse(await readFile(`${this.#dir}/${sha256}.json`, "utf8")) as EntryMeta;
      return Number.isSafeInteger(meta.bytes) && Number.isFinite(meta.usedAt) ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /** Least recently used first, until both bounds hold; `keep` (just used) stays. */
  async #evict(keep: string): Promise<void> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    // Trees with no metadata (a crash before it was written) and stray partial fetches go first.
    for (const name of names) {
      const sha = name.slice(0, 64);
      if (this.#inUse.has(sha)) continue;
      const orphan =
        (/^[0-9a-f]{64}$/.test(name) && !names.includes(`${name}.json`)) ||
        (/^[0-9a-f]{64}\.json$/.test(name) && !names.includes(sha));
      if (orphan) await rm(`${this.#dir}/${name}`, { recursive: true, force: true });
    }
    const entries = (await this.entries()).reverse(); // oldest first
    let bytes = entries.reduce((t, e) => t + e.bytes, 0);
    let count = entries.length;
    for (const e of entries) {
      if (bytes <= this.#limits.maxBytes && count <= this.#limits.maxEntries) break;
      if (e.sha256 === keep || this.#inUse.has(e.sha256)) continue;
      await rm(`${this.#dir}/${e.sha256}.json`, { force: true });
      await rm(`${this.#dir}/${e.sha256}`, { recursive: true, force: true });
      bytes -= e.bytes;
      count -= 1;
    }
  }
}

/**
 * Copies a verified tree to `dest` (which must not exist), atomically: into a temporary sibling, then
 * renamed. Files keep their (already reduced) modes, which copyFile carries over; symlinks are
 * copied as links (they were checked to stay inside the tree when it was unpacked). Directories are
 * made first, then the files are copied COPY_PARALLEL at a time (bounded open files).
 */
async function _copyTree(src: string, dest: string): Promise<void> {
  const parent = dest.replace(/\/+$/, "").replace(/\/[^/]*$/, "") || "/";
  await mkdir(parent, { recursive: true, mode: 0o755 });
  const temp = `${dest.replace(/\/+$/, "")}.copy-${crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36)}`;
  try {
    await mkdir(temp, { mode: 0o755 });
    const files: [string, string][] = [];
    await _copyDirs(src, temp, files);
    const next = async () => {
      for (let job = files.pop(); job; job = files.pop()) await copyFile(job[0], job[1]);
    };
    await Promise.all(Array.from({ length: COPY_PARALLEL }, next));
    await rename(temp, dest);
  } catch (error) {
    await rm(temp, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
}

const COPY_PARALLEL = 8;

/** Makes the directories and symlinks of `src` under `dest`; lists the files to copy. */
async function _copyDirs(src: string, dest: string, files: [string, string][]): Promise<void> {
  for (const e of await readdir(src, { withFileTypes: true })) {
    const from = `${src}/${e.name}`;
    const to = `${dest}/${e.name}`;
    if (e.isDirectory()) {
      await mkdir(to, { mode: 0o755 });
      await _copyDirs(from, to, files);
    } else if (e.isSymbolicLink()) await symlink(await readlink(from), to);
    else if (e.isFile()) files.push([from, to]);
  }
}

async function _treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) total += await _treeBytes(path);
    else if (e.isFile()) total += (await stat(path)).size;
  }
  return total;
}

async function _isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
