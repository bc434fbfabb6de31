// A terminal on a host as a stream: the terminal's output to read, its input to write, resize(cols,
// rows) when the local terminal changes size, and `exited` for the exit code. Output credit is granted
// as the caller reads (like exec.ts). A kind on the one opener (open-stream.ts).
import { DEFAULT_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import { encodePtySpec, type PtySpec } from "../../schema/protocol/pty-spec.ts";
import type { ExecResult } from "./exec.ts";
import { openStream } from "./open-stream.ts";
import { deferred } from "./socket.ts";

/** Input the stream takes before its writer's `ready` waits (desiredSize ≤ 0). */
const INPUT_QUEUE_BYTES = 64 * 1024;

export interface PtyStream {
  /** Resolves with the session id (its recording's id too) once the host has the terminal. */
  readonly session: Promise<string>;
  /** The terminal's output (there is no stderr on a terminal). */
  readonly output: ReadableStream<Uint8Array>;
  /** The terminal's input: keystrokes as bytes (Ctrl-C is 0x03, which the remote terminal turns into SIGINT). */
  readonly input: WritableStream<Uint8Array>;
  /** Resolves when the process exits; rejects with OutpostStreamError when the stream breaks first. */
  readonly exited: Promise<ExecResult>;
  resize(cols: number, rows: number): void;
  signal(name: string): void;
  close(): void;
}

export function openPty(opts: { wsUrl: string; token: string; spec: PtySpec }): PtyStream {
  const url = new URL(opts.wsUrl);
  const window = opts.spec.credit ?? DEFAULT_STREAM_CREDIT;
  url.searchParams.set("spec", encodePtySpec({ ...opts.spec, credit: window }));
  return openStream({ url, token: opts.token, window }, (socket) => {
    const exited = deferred<ExecResult>();
    const output = socket.output();
    let result: ExecResult | undefined;
    return {
      onFrame(frame) {
        if (frame.t === "stdout") output.push(frame.data);
        else if (frame.t === "exit") {
          result = { code: frame.code, ...(frame.signal ? { signal: frame.signal } : {}) };
          socket.finish();
        }
      },
      onEnd(error) {
        if (result) exited.resolve(result);
        else exited.reject(error);
      },
      value: {
        output: output.stream,
        // Keys queue here up to INPUT_QUEUE_BYTES while earlier ones wait for credit (a paste).
        input: new WritableStream<Uint8Array>(
          { write: (chunk) => socket.sendCredited(chunk, (data) => ({ t: "stdin", data })) },
          new ByteLengthQueuingStrategy({ highWaterMark: INPUT_QUEUE_BYTES }),
        ),
        exited: exited.promise,
        resize: (cols: number, rows: number) => socket.send({ t: "resize", cols, rows }),
        signal: (name: string) => socket.send({ t: "signal", name }),
        close: () => socket.close(),
      },
    };
  });
}
