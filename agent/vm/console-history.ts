// A VM console's history: what its serial console printed, in `<vm dir>/console.history`, rotated to
// `console.history.1` when it reaches CONSOLE_HISTORY_BYTES, so the two files never hold more than
// twice that however much the guest prints (a `yes` on the console included). The console hub is its
// only writer; `outpost vm logs` reads its last lines.
//
// Appends are queued in order and the hub stops reading the console while one is pending (it awaits
// append), so a disk slower than the guest slows the guest, never the agent's memory.

import { appendFile, open, readFile, rename, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { CONSOLE_HISTORY_BYTES } from "../../schema/protocol/limits.ts";

const HISTORY_FILE = "console.history";
/** Where every driver has its hypervisor write the console (driver.ts VmInstance.consoleLog). */
const DRIVER_LOG = "console.log";

export class ConsoleHistory {
  readonly path: string;
  readonly #limit: number;
  readonly #driverLog: string;
  #size: number | undefined;

  constructor(vmDir: string, limit = CONSOLE_HISTORY_BYTES) {
    this.path = join(vmDir, HISTORY_FILE);
    this.#driverLog = join(vmDir, DRIVER_LOG);
    this.#limit = limit;
  }

  /** Appends `bytes`, rotating first when they would take the file past the limit. */
  async append(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    this.#size ??= await _size(this.path);
    // The size kept may be stale: `vm rm` takes the VM's directory away and `vm create` of the same
    // name makes it again under the same hub. Measured again before rotating on its word (a rename of
    // a file that is gone would fail every append from then on).
    if (this.#size > 0 && this.#size + bytes.length > this.#limit) this.#size = await _size(this.path);
    if (this.#size > 0 && this.#size + bytes.length > this.#limit) {
      await rename(this.path, `${this.path}.1`);
      this.#size = 0;
    }
    // A single write larger than the limit keeps only its end.
    const kept = bytes.length > this.#limit ? bytes.subarray(bytes.length - this.#limit) : bytes;
    await appendFile(this.path, kept, { mode: 0o600 });
    this.#size += kept.length;
  }

  /**
   * The last `lines` lines of the history (both files), as bytes; at most 2 × the limit. With no
   * history yet (a driver whose console is a file only, or a VM no agent has watched), the end of the
   * driver's own console log (`console.log`) instead.
   */
  async tail(lines: number): Promise<Uint8Array> {
    if (lines <= 0) return new Uint8Array(0);
    let [older, newer] = await Promise.all([_read(`${this.path}.1`), _read(this.path)]);
    if (older.length === 0 && newer.length === 0) newer = await _readEnd(this.#driverLog, 2 * this.#limit);
    const all = new Uint8Array(older.length + newer.length);
    all.set(older, 0);
    all.set(newer, older.length);
    // A last line without its newline yet counts as a line.
    let end = all.length;
    if (end > 0 && all[end - 1] === 0x0a) end--;
    let start = end;
    let seen = 0;
    while (start > 0) {
      if (all[start - 1] === 0x0a && ++seen === lines) break;
      start--;
    }
    return all.subarray(start);
  }
}

/**
 * Keeps a file another process appends to (QEMU's own console log, opened O_APPEND with logappend=on)
 * under `limit`: past it, the file is emptied in place, and the writer's next append lands at its
 * start. Its bytes are in the history already while the hub is attached.
 */
export async function trimAppendLog(path: string, limit = CONSOLE_HISTORY_BYTES): Promise<boolean> {
  if ((await _size(path)) <= limit) return false;
  await truncate(path, 0);
  return true;
}

async function _size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function _read(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    return new Uint8Array(0);
  }
}

/** At most the last `max` bytes of `path`; empty when it cannot be read. */
async function _readEnd(path: string, max: number): Promise<Uint8Array> {
  try {
    const file = await open(path, "r");
    try {
      const { size } = await file.stat();
      const length = Math.min(size, max);
      const buffer = new Uint8Array(length);
      const { bytesRead } = await file.read(buffer, 0, length, size - length);
      return buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return new Uint8Array(0);
  }
}
