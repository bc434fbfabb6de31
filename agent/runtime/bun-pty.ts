// Pseudo-terminals on Bun: Bun.spawn's `terminal` option (Bun ≥ 1.3), which opens the pty and hands
// the child its slave as stdin, stdout and stderr. Bun does not make it the child's controlling
// terminal (no setsid + TIOCSCTTY: bash says "no job control", and Ctrl-C reaches nobody), so the
// child is started through util-linux's `setsid --ctty --wait`, which does both and returns the
// child's exit status.
//
// Bun's terminal pushes its output (a `data` callback; there is no pause), so output waiting for the
// control plane's credit is held here up to PTY_BUFFER_BYTES, and beyond that dropped with one notice
// in the output, as a terminal multiplexer skips what a slow viewer missed: memory stays bounded.
import { type ExitStatus, type PtyOptions, type PtyProcess, SpawnError } from "./runtime.ts";

const PTY_BUFFER_BYTES = 1024 * 1024;

interface BunTerminal {
  write(data: Uint8Array): number;
  resize(cols: number, rows: number): void;
  close(): void;
}

interface BunPtyProcess {
  readonly pid: number;
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  readonly signalCode: string | null;
  kill(signal?: string): void;
}

interface BunPtyApi {
  Terminal: new (options: {
    cols: number;
    rows: number;
    data: (terminal: unknown, data: Uint8Array) => void;
    exit: () => void;
  }) => BunTerminal;
  spawn(
    argv: string[],
    options: { cwd?: string; env?: Record<string, string>; terminal: BunTerminal },
  ): BunPtyProcess;
}

declare const Bun: BunPtyApi;

const ENCODER = new TextEncoder();

export function bunSpawnPty(argv: readonly string[], options: PtyOptions): PtyProcess {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let dropped = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  const terminal = new Bun.Terminal({
    cols: options.cols,
    rows: options.rows,
    data: (_t, data) => {
      if (queued + data.length > PTY_BUFFER_BYTES) dropped += data.length;
      else {
        if (dropped > 0) {
          queue.push(
            ENCODER.encode(`\r\n[outpost: ${dropped} bytes of output dropped: the viewer was slow]\r\n`),
          );
          dropped = 0;
        }
        queue.push(data.slice());
        queued += data.length;
      }
      wake?.();
    },
    exit: () => {
      ended = true;
      wake?.();
    },
  });
  let proc: BunPtyProcess;
  try {
    proc = Bun.spawn(["setsid", "--ctty", "--wait", ...argv], {
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      terminal,
    });
  } catch (error) {
    terminal.close();
    const code = (error as { code?: string } | null)?.code;
    throw new SpawnError(code === "ENOENT" ? "not_found" : "failed", `cannot start a terminal: ${error}`, {
      cause: error,
    });
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    terminal.close();
  };
  const exited: Promise<ExitStatus> = proc.exited.then(() =>
    proc.signalCode ? { code: null, signal: proc.signalCode } : { code: proc.exitCode ?? null },
  );
  const output = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        const next = queue.shift();
        if (next === undefined) return controller.close();
        queued -= next.length;
        controller.enqueue(next);
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
  const input = new WritableStream<Uint8Array>({
    write: (chunk) => {
      if (!closed) terminal.write(chunk);
    },
  });
  return {
    pid: proc.pid,
    input,
    output,
    exited,
    resize: (cols, rows) => {
      if (!closed) terminal.resize(cols, rows);
    },
    kill: (signal = "SIGTERM") => {
      try {
        proc.kill(signal);
      } catch (error) {
        throw new TypeError(`Cannot send ${signal}: ${error instanceof Error ? error.message : error}`);
      }
    },
    close,
  };
}
