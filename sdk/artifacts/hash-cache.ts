// The sha256 of .tar.gz files this machine has hashed already, so a second deploy of an unchanged
// file reads none of it (half a second for 100 MB, a quarter of such a deploy). An entry is keyed by
// the file's real path and is used only while the file's device, inode, size, mtime and ctime (in
// nanoseconds) are all what they were when it was hashed: any write changes ctime, which no caller
// can set back, so a rewritten file is hashed again (git's index trusts the same fields). The
// content is still checked where it counts: each agent hashes what it fetches.
//
// Bounded: the newest MAX_ENTRIES files. Kept in the CLI's config dir, mode 0600; a missing or
// unreadable cache is an empty one (it is only a shortcut).
import { mkdir, readFile, realpath, rename, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

const MAX_ENTRIES = 64;

interface Entry {
  path: string;
  stamp: string;
  sha256: string;
}

/** What identifies the file's content as it is now (taken before hashing, compared after). */
export async function fileStamp(path: string): Promise<{ real: string; stamp: string }> {
  const real = await realpath(path);
  const s = await stat(real, { bigint: true });
  return { real, stamp: [s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(":") };
}

async function _read(cacheFile: string): Promise<Entry[]> {
  try {
    const entries = JSON.parse(await readFile(cacheFile, "utf8")) as unknown;
    return Array.isArray(entries)
      ? entries.filter(
          (e): e is Entry =>
            typeof e?.path === "string" && typeof e.stamp === "string" && /^[0-9a-f]{64}$/.test(e.sha256),
        )
      : [];
  } catch {
    return [];
  }
}

/** The remembered sha256 of the file, if it is unchanged since it was hashed. */
export async function cachedSha256(
  cacheFile: string,
  { real, stamp }: { real: string; stamp: string },
): Promise<string | undefined> {
  return (await _read(cacheFile)).find((e) => e.path === real && e.stamp === stamp)?.sha256;
}

/**
 * Remembers `sha256` for the file stamped `before` it was hashed, unless it changed meanwhile (the
 * newest MAX_ENTRIES are kept).
 */
export async function rememberSha256(
  cacheFile: string,
  before: { real: string; stamp: string },
  sha256: string,
): Promise<void> {
  try {
    const { real, stamp } = await fileStamp(before.real);
    if (real !== before.real || stamp !== before.stamp) return;
    const entries = [
      { path: real, stamp, sha256 },
      ...(await _read(cacheFile)).filter((e) => e.path !== real),
    ];
    await mkdir(dirname(cacheFile), { recursive: true, mode: 0o700 });
    const temp = `${cacheFile}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(entries.slice(0, MAX_ENTRIES)), { mode: 0o600 });
    await rename(temp, cacheFile);
  } catch {
    // Only a shortcut: a cache that cannot be written means the next deploy hashes again.
  }
}
