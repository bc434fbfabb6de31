// An app's captured output: <state>/apps/<app>/logs/{stdout,stderr}.log, appended to by the app
// itself (process.ts), so capture goes on while the agent is away. Bounded by copy-and-truncate
// (logrotate's copytruncate): past MAX_LOG_BYTES a file is copied to `.1` (the one before is
// dropped) and truncated; the app's O_APPEND writes then land at the new end. At most
// 2 × MAX_LOG_BYTES per stream per app on disk; a line written during the copy may be lost, which is
// the price of never having to signal the app.
import { copyFile, stat, truncate } from "node:fs/promises";

const MAX_LOG_BYTES = 8 * 1024 * 1024;

export async function rotateIfLarge(path: string, max = MAX_LOG_BYTES): Promise<void> {
  try {
    if ((await stat(path)).size <= max) return;
    await copyFile(path, `${path}.1`);
    await truncate(path, 0);
  } catch {}
}
