// Exec as streams: stdout and stderr to read, stdin to write, over the client stream protocol. Output
// credit is granted only as the caller reads, so a slow reader slows the remote process instead of
// filling memory anywhere on the way. A kind on the one opener (open-stream.ts).
import { type ExecSpec, encodeExecSpec } from "../../schema/protocol/exec-spec.ts";
import { DEFAULT_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import { openStream } from "./open-stream.ts";
import { deferred } from "./socket.ts";

export interface ExecResult {
  /** The remote exit code, or null when a signal ended the process. */
  code: number | null;
  signal?: string;
}

export interface ExecStream {
  /** Resolves with the session id once the host has the command. */
  readonly session: Promise<string>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly stdin: WritableStream<Uint8Array>;
  /** Resolves when the process exits; rejects with OutpostStreamError when the stream breaks first. */
  readonly exited: Promise<ExecResult>;
  /** Sends a signal (SIGINT, SIGTERM, …) to the remote process. */
  signal(name: string): void;
  /** Drops the stream; the host kills the process. */
  close(): void;
}

export function openExec(opts: { wsUrl: string; token: string; spec: ExecSpec }): ExecStream {
  const url = new URL(opts.wsUrl);
  const window = opts.spec.credit ?? DEFAULT_STREAM_CREDIT;
  url.searchParams.set("spec", encodeExecSpec({ ...opts.spec, credit: window }));
  return openStream({ url, token: opts.token, window }, (socket) => {
    const exited = deferred<ExecResult>();
    const stdout = socket.output();
    const stderr = socket.output();
    let result: ExecResult | undefined;
    return {
      onFrame(frame) {
        if (frame.t === "stdout") stdout.push(frame.data);
        else if (frame.t === "stderr") stderr.push(frame.data);
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
        stdout: stdout.stream,
        stderr: stderr.stream,
        stdin: new WritableStream<Uint8Array>({
          write: (chunk) => socket.sendCredited(chunk, (data) => ({ t: "stdin", data })),
          close: () => socket.send({ t: "stdin", data: new Uint8Array(0), eof: true }),
        }),
        exited: exited.promise,
        signal: (name: string) => socket.send({ t: "signal", name }),
        close: () => socket.close(),
      },
    };
  });
}
