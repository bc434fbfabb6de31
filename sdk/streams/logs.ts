// An app's captured output as streams: its stdout and stderr as the app wrote them, the last lines
// and then, when following, what it writes next. Credit goes back only as the caller reads, so a slow
// reader leaves the output on the host's disk rather than in memory anywhere on the way. A kind on the
// one opener (open-stream.ts).
import { DEFAULT_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import { openStream } from "./open-stream.ts";
import { deferred } from "./socket.ts";

export interface LogsOptions {
  /** `<host>.<cluster>`: needed when the app runs on more than one host. */
  host?: string;
  /** How many of the last lines of each of stdout and stderr (10 by default; 0: none). */
  lines?: number;
  /** Go on with new output until closed. */
  follow?: boolean;
  /** Only output written since: a Date, an ISO 8601 time, or a duration back from now ("10m"). */
  since?: Date | string;
  /** The receive window in bytes. */
  credit?: number;
}

export interface LogsStream {
  readonly session: Promise<string>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves when a stream that does not follow has sent everything; rejects when it breaks. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens a logs stream at `wsUrl` (the route's URL with its query: host, lines, follow, since). */
export function openLogs(opts: { wsUrl: string; token: string; credit?: number }): LogsStream {
  const url = new URL(opts.wsUrl);
  const window = opts.credit ?? DEFAULT_STREAM_CREDIT;
  url.searchParams.set("credit", String(window));
  return openStream({ url, token: opts.token, window }, (socket) => {
    const ended = deferred<void>();
    const stdout = socket.output();
    const stderr = socket.output();
    let finished = false;
    return {
      onFrame(frame) {
        if (frame.t === "stdout") stdout.push(frame.data);
        else if (frame.t === "stderr") stderr.push(frame.data);
        else if (frame.t === "exit") {
          finished = true;
          socket.finish();
        }
      },
      onEnd(error) {
        if (finished) ended.resolve();
        else ended.reject(error);
      },
      value: {
        stdout: stdout.stream,
        stderr: stderr.stream,
        ended: ended.promise,
        close: () => socket.close(),
      },
    };
  });
}
