// One session's recording (a pty's, or an exec's run with `record`), written to R2 as it happens (keys.ts, asciicast.ts). Memory per session
// is bounded: output waits in a buffer of at most RECORDING_PART_BYTES, which is written as a part when
// full or RECORDING_FLUSH_MS after its first line (a pending timer also keeps the object from
// hibernating with unwritten lines). The recording stops at MAX_RECORDING_BYTES with a marker saying
// so; the stream itself goes on. At the end the parts become the one `.cast` object, streamed.
import type { SessionId, TenantId } from "../../schema/ids.ts";
import { castEvent, castHeader } from "./asciicast.ts";
import { concatParts } from "./concat-parts.ts";
import { partKey, partsPrefix, recordingKey } from "./keys.ts";
import type { RecordingState } from "./recording-state.ts";

/** A session's recording ends here (a hostile agent's flood costs the bucket at most this). */
const MAX_RECORDING_BYTES = 8 * 1024 * 1024;
const RECORDING_PART_BYTES = 256 * 1024;
const RECORDING_FLUSH_MS = 2000;

const ENCODER = new TextEncoder();

interface RecorderOptions {
  bucket: R2Bucket;
  tenantId: TenantId;
  session: SessionId;
  /** Called with the state after every part, to keep it in the socket's attachment. */
  save: (state: RecordingState) => void;
  /** Runs a write past the event that started it (the object's waitUntil), logging a failure. */
  background: (what: string, work: Promise<unknown>) => void;
  /** Output from a pipe, not a pty: `\n` is recorded as `\r\n`, as a terminal would show it. */
  crlf?: boolean;
  /** The cap, for tests of it; MAX_RECORDING_BYTES by default. */
  maxBytes?: number;
}

export class Recorder {
  readonly #o: RecorderOptions;
  readonly #state: RecordingState;
  readonly #decoder = new TextDecoder();
  #buffer: string[] = [];
  #buffered = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Part writes in order: the end waits for them. */
  #writes: Promise<void> = Promise.resolve();
  #finished = false;

  constructor(state: RecordingState, options: RecorderOptions) {
    this.#state = { ...state };
    this.#o = options;
  }

  /** The terminal's output (UTF-8 split anywhere: the decoder keeps a partial character for the next). */
  output(data: Uint8Array): void {
    const text = this.#decoder.decode(data, { stream: true });
    if (text) this.#push("o", this.#o.crlf ? text.replace(/\r?\n/g, "\r\n") : text);
  }

  resize(cols: number, rows: number): void {
    this.#push("r", `${cols}x${rows}`);
  }

  /** The session ended: the last part, then the one recording object; parts are deleted after it. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const tail = this.#decoder.decode();
    if (tail) this.#push("o", tail);
    this.#flush();
    const { bucket, tenantId, session } = this.#o;
    this.#o.background(
      `recording ${session}`,
      this.#writes.then(async () => {
        const parts = await concatParts(bucket, partsPrefix(tenantId, session));
        if (!parts) return;
        // R2 needs the length of a streamed body up front: FixedLengthStream gives it (workerd).
        const body = new FixedLengthStream(parts.size);
        await Promise.all([
          parts.stream.pipeTo(body.writable),
          bucket.put(recordingKey(tenantId, session), body.readable, {
            httpMetadata: { contentType: "application/x-asciicast" },
          }),
        ]);
        await bucket.delete(parts.keys);
      }),
    );
  }

  #push(code: "o" | "r", data: string): void {
    const s = this.#state;
    if (s.full || this.#finished) return;
    const lines: string[] = [];
    if (s.parts === 0 && s.bytes === 0 && this.#buffered === 0)
      lines.push(castHeader(s.cols, s.rows, s.term, s.at));
    const seconds = Math.max(0, Date.now() - s.at) / 1000;
    lines.push(castEvent(seconds, code, data));
    let size = lines.reduce((n, l) => n + ENCODER.encode(l).length, 0);
    const max = this.#o.maxBytes ?? MAX_RECORDING_BYTES;
    if (s.bytes + this.#buffered + size > max) {
      // The marker fits in what is left: the cap is checked before it, with room kept for it.
      const marker = castEvent(seconds, "m", `recording stopped: the session reached ${max} bytes`);
      lines.length = 0;
      lines.push(marker);
      size = ENCODER.encode(marker).length;
      s.full = true;
    }
    this.#buffer.push(...lines);
    this.#buffered += size;
    if (this.#buffered >= RECORDING_PART_BYTES || s.full) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), RECORDING_FLUSH_MS);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffered === 0) return;
    const body = this.#buffer.join("");
    const s = this.#state;
    const key = partKey(this.#o.tenantId, this.#o.session, s.parts);
    s.parts += 1;
    s.bytes += this.#buffered;
    this.#buffer = [];
    this.#buffered = 0;
    this.#o.save({ ...s });
    const { bucket } = this.#o;
    this.#writes = this.#writes.catch(() => {}).then(() => bucket.put(key, body).then(() => {}));
    this.#o.background(`recording part ${key}`, this.#writes);
  }
}
