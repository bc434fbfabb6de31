// One logs stream (frames.ts logs.open): an app's captured stdout and stderr (apps/log-files.ts), the
// last `lines` lines of each, then, when following, what the app appends, as stdout / stderr frames
// under the control plane's credit. A non-following stream ends with exit 0.
//
// Memory stays bounded: the tail is read from at most TAIL_BYTES at a file's end, and new output is read
// from the file only once credit is in hand, READ_BYTES at a time, so a slow reader leaves the output
// on disk (where rotation bounds it), not in the agent. The files carry no timestamps, so `since`
// keeps or drops a file's tail by when it was last written.
import { open, stat } from "node:fs/promises";
import { type LogsOpenFrame, SendWindow } from "../../schema/protocol/index.ts";
import type { Send } from "../outgoing.ts";
import type { Stream, StreamFrame } from "../stream-table.ts";

/** At most this much of a file's end is read for its last lines. */
const TAIL_BYTES = 1024 * 1024;
/** What one read while following takes from a file, at most. */
const READ_BYTES = 64 * 1024;
/** How often a followed file is looked at for new output. */
const POLL_MS = 200;

type Which = "stdout" | "stderr";

export interface LogsStreamOptions {
  send: Send;
  paths: Record<Which, string>;
  onEnd: () => void;
}

export class LogsStream implements Stream {
  readonly sid: number;
  readonly done: Promise<void>;
  readonly #options: LogsStreamOptions;
  readonly #window: SendWindow;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(open: LogsOpenFrame, options: LogsStreamOptions) {
    this.sid = open.sid;
    this.#options = options;
    this.#window = new SendWindow({ credit: open.credit });
    this.done = this.#run(open).catch((error) => {
      if (this.#ended) return;
      const why = error instanceof Error ? error.message : String(error);
      this.#close(`cannot read the app's logs: ${why}`.slice(0, 1024));
    });
  }

  receive(frame: StreamFrame): void {
    if (frame.t === "credit") this.#window.grant(frame.bytes);
    else if (frame.t === "close") this.abort();
  }

  abort(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#window.close();
    this.#wake?.();
    this.#options.onEnd();
  }

  async #run(frame: LogsOpenFrame): Promise<void> {
    const { paths } = this.#options;
    const offsets: Record<Which, number> = { stdout: 0, stderr: 0 };
    for (const which of ["stdout", "stderr"] as const) {
      const { bytes, end, count } = await tail(paths[which], frame.lines, frame.since);
      offsets[which] = end;
      // Fewer lines than asked since the last rotation: the rest are in the file before (`.1`).
      if (count < frame.lines) {
        const before = await tail(`${paths[which]}.1`, frame.lines - count, frame.since);
        if (before.bytes.length > 0) await this.#emit(which, withNewline(before.bytes));
      }
      if (bytes.length > 0) await this.#emit(which, bytes);
    }
    if (!frame.follow) {
      if (this.#ended) return;
      this.#options.send({ t: "exit", sid: this.sid, code: 0 });
      this.#end();
      return;
    }
    while (!this.#ended) {
      let any = false;
      for (const which of ["stdout", "stderr"] as const) {
        await this.#window.ready();
        if (this.#ended) return;
        const size = await sizeOf(paths[which]);
        if (size < offsets[which]) offsets[which] = 0; // rotated: the file starts again
        if (size === offsets[which]) continue;
        const want = Math.min(READ_BYTES, this.#window.credit, size - offsets[which]);
        const bytes = await readAt(paths[which], offsets[which], want);
        offsets[which] += bytes.length;
        if (bytes.length > 0) {
          any = true;
          await this.#emit(which, bytes);
        }
      }
      if (!any) await this.#sleep(POLL_MS);
    }
  }

  async #emit(which: Which, bytes: Uint8Array): Promise<void> {
    await this.#window.send(bytes, (data) => {
      if (!this.#ended) this.#options.send({ t: which, sid: this.sid, data });
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #close(reason: string): void {
    if (this.#ended) return;
    this.#options.send({ t: "close", sid: this.sid, reason });
    this.#end();
  }

  #end(): void {
    this.#ended = true;
    this.#window.close();
    this.#options.onEnd();
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0; // not written yet
  }
}

async function readAt(path: string, position: number, length: number): Promise<Uint8Array> {
  if (length <= 0) return new Uint8Array(0);
  const file = await open(path, "r");
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await file.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** The last `lines` lines of `path` (within its last TAIL_BYTES), and the offset following starts at. */
async function tail(
  path: string,
  lines: number,
  since: number | undefined,
): Promise<{ bytes: Uint8Array; end: number; count: number }> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    return { bytes: new Uint8Array(0), end: 0, count: 0 };
  }
  const end = info.size;
  if (lines === 0 || end === 0 || (since !== undefined && info.mtimeMs < since)) {
    return { bytes: new Uint8Array(0), end, count: 0 };
  }
  const from = Math.max(0, end - TAIL_BYTES);
  const bytes = await readAt(path, from, end - from);
  // Count newlines back from the end; a last line without one counts as a line too.
  let count = 0;
  let i = bytes.length - 1;
  if (i >= 0 && bytes[i] === 0x0a) i--;
  for (; i >= 0; i--) {
    if (bytes[i] === 0x0a && ++count === lines) break;
  }
  let start = i + 1;
  if (i < 0) {
    count++; // the file's first line
    // A tail that began mid-file starts at its first whole line (and has no more to find before).
    if (from > 0) {
      start = bytes.indexOf(0x0a) + 1;
      count = lines;
    }
  }
  return { bytes: bytes.subarray(start), end, count };
}

/** `bytes`, ending in a newline (a rotated file's last line may have been cut). */
function withNewline(bytes: Uint8Array): Uint8Array {
  if (bytes[bytes.length - 1] === 0x0a) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = 0x0a;
  return out;
}
