// The runtime seam's atomic file write, through node:fs, which Bun and Deno both implement natively:
// one copy of the security-relevant steps instead of one per runtime.
import { chmod, open, rename, rm } from "node:fs/promises";
import { _tempPath, type WriteFileOptions } from "./runtime.ts";

/** Writes a temporary file created with `mode`, syncs it, then renames it over `path`. */
export async function writeFile(
  path: string,
  data: string | Uint8Array,
  options: WriteFileOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const temp = _tempPath(path);
  try {
    // Security: created with its mode ("wx": never an existing file), so a key is never readable by
    // others, not even for a moment.
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, mode); // the umask may have masked bits off
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw error;
  }
}
