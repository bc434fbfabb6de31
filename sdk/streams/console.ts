// A VM's serial console as a stream (schema/protocol/client-frames.ts, VM consoles): `attached` says
// whether this stream writes or only reads (another session may hold the console), `output` is what
// the console prints, `input` what is typed on it (a writer's only), and `ended` settles when it is
// over: resolves for a history read that did not follow, rejects with OutpostStreamError when the VM
// stopped (vm_stopped), is not running (vm_not_running) or unknown (vm_unknown). Output credit is
// granted as the caller reads. A kind on the one opener (open-stream.ts).
import { DEFAULT_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import { openStream } from "./open-stream.ts";
import { deferred } from "./socket.ts";

export interface ConsoleAttach {
  mode: "write" | "read";
  /** Why a stream that asked to write reads only. */
  reason?: string;
}

export interface ConsoleStream {
  readonly session: Promise<string>;
  /** Resolves once the host attached the console (never for a history read). */
  readonly attached: Promise<ConsoleAttach>;
  /** Resolves when this stream, attached read-only, became the writer (the writer detached). */
  readonly promoted: Promise<ConsoleAttach>;
  readonly output: ReadableStream<Uint8Array>;
  /** Keys typed on the console; a read-only stream's writes fail. */
  readonly input: WritableStream<Uint8Array>;
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens a console stream at `wsUrl` (the console or logs route's URL with its query). */
export function openConsole(opts: { wsUrl: string; token: string; credit?: number }): ConsoleStream {
  const url = new URL(opts.wsUrl);
  const window = opts.credit ?? DEFAULT_STREAM_CREDIT;
  url.searchParams.set("credit", String(window));
  return openStream({ url, token: opts.token, window }, (socket) => {
    const ended = deferred<void>();
    const attached = deferred<ConsoleAttach>();
    attached.promise.catch(() => {});
    const promoted = deferred<ConsoleAttach>();
    promoted.promise.catch(() => {});
    const output = socket.output();
    let mode: "write" | "read" | undefined;
    let finished = false;
    return {
      onFrame(frame) {
        if (frame.t === "stdout") output.push(frame.data);
        else if (frame.t === "attached") {
          const was = mode;
          mode = frame.mode;
          const attach = { mode: frame.mode, ...(frame.reason ? { reason: frame.reason } : {}) };
          if (was === undefined) attached.resolve(attach);
          else if (was === "read" && frame.mode === "write") promoted.resolve(attach);
        } else if (frame.t === "exit") {
          finished = true;
          socket.finish();
        }
      },
      onEnd(error) {
        attached.reject(error ?? new Error("the console stream ended before it was attached"));
        promoted.reject(error ?? new Error("the console stream ended before it became the writer"));
        if (finished) ended.resolve();
        else ended.reject(error);
      },
      value: {
        attached: attached.promise,
        promoted: promoted.promise,
        output: output.stream,
        input: new WritableStream<Uint8Array>({
          write: (chunk) => {
            if (mode !== "write") throw new Error("this console stream is read-only");
            return socket.sendCredited(chunk, (data) => ({ t: "stdin", data }));
          },
        }),
        ended: ended.promise,
        close: () => socket.close(),
      },
    };
  });
}
