// The runtime seam on Bun. Bun's own APIs where they fit (Bun.spawn, Bun.file, Bun.connect and
// Bun.listen in bun-tcp.ts); node:fs where Bun has no native call for it (the atomic write in
// write-file.ts, shared with Deno), which Bun implements natively.
import { statSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { _joinBytes } from "../../schema/protocol/_bytes.ts";
import { bunSpawnPty } from "./bun-pty.ts";
import { bunConnect, bunListen } from "./bun-tcp.ts";
import { loadHmacSha256 } from "./hmac.ts";
import {
  type ChildProcess,
  type ExitStatus,
  type Runtime,
  SpawnError,
  type SpawnOptions,
} from "./runtime.ts";
import { writeFile } from "./write-file.ts";

// ## The few Bun APIs used, typed here (bun-types would clash with the DOM / workers globals)

interface BunFileSink {
  write(chunk: Uint8Array): number | Promise<number>;
  flush(): number | Promise<number>;
  end(): number | Promise<number>;
}

interface BunSubprocess {
  readonly pid: number;
  readonly stdin: BunFileSink;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  readonly signalCode: string | null;
  kill(signal?: string): void;
}

interface BunApi {
  readonly version: string;
  readonly argv: string[];
  spawn(
    argv: string[],
    options: {
      cwd?: string;
      env?: Record<string, string>;
      stdin: "pipe";
      stdout: "pipe";
      stderr: "pipe";
    },
  ): BunSubprocess;
  file(path: string): { text(): Promise<string> };
}

declare const Bun: BunApi;

// ## Processes

function spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  let proc: BunSubprocess;
  try {
    proc = Bun.spawn([...argv], {
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (error) {
    throw _spawnError(argv[0] ?? "", options.cwd, error);
  }
  let done = false;
  const exited: Promise<ExitStatus> = proc.exited.then(() => {
    done = true;
    return proc.signalCode ? { code: null, signal: proc.signalCode } : { code: proc.exitCode ?? null };
  });
  return {
    pid: proc.pid,
    stdin: _sinkStream(proc.stdin),
    stdout: _pullStream(proc.stdout),
    stderr: _pullStream(proc.stderr),
    exited,
    kill(signal = "SIGTERM") {
      if (done) return;
      try {
        proc.kill(signal);
      } catch (error) {
        throw new TypeError(`Cannot send ${signal}: ${error instanceof Error ? error.message : error}`);
      }
    },
  };
}

function _spawnError(command: string, cwd: string | undefined, error: unknown): SpawnError {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // Bun reports a missing cwd as ENOENT for the executable; tell them apart by looking.
  if (cwd !== undefined && (code === "ENOENT" || code === "ENOTDIR") && !_isDirectory(cwd)) {
    return new SpawnError(
      "bad_cwd",
      `${JSON.stringify(command)}: working directory ${JSON.stringify(cwd)} does not exist`,
    );
  }
  if (code === "ENOENT") return new SpawnError("not_found", `${JSON.stringify(command)}: command not found`);
  if (code === "EACCES" || code === "EPERM") {
    return new SpawnError("permission", `${JSON.stringify(command)}: permission denied`);
  }
  return new SpawnError("failed", `${JSON.stringify(command)}: ${message}`, { cause: error });
}

function _isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Bun buffers a subprocess pipe without limit until a reader is attached; with one attached it stops
 * at a small buffer (about 256 KiB) and the child blocks. So take the reader now, and hand out a
 * pull-based stream (high-water mark 0) that reads only when our consumer asks.
 *
 * Each pull also takes whatever more is ready at once (up to COALESCE_BYTES), as one chunk: Bun hands a
 * pipe over in pieces of 4 to 180 KiB, and each becomes a frame that costs the relay about as much as a
 * big one. "At once" is before a setImmediate: a read that is not ready by then is kept for the next
 * pull, so coalescing never makes output wait.
 */
const COALESCE_BYTES = 256 * 1024;
const NOT_YET = Symbol("not yet");

function _pullStream(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  const next = () => {
    const read = pending ?? reader.read();
    pending = undefined;
    return read;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const first = await next();
        if (first.done) return controller.close();
        const chunks = [first.value];
        let size = first.value.length;
        while (size < COALESCE_BYTES) {
          const read = reader.read();
          const soon = new Promise<typeof NOT_YET>((resolve) => setImmediate(() => resolve(NOT_YET)));
          const more = await Promise.race([read, soon]).catch((): typeof NOT_YET => NOT_YET); // its error: next pull
          if (more === NOT_YET || more.done) {
            pending = read; // the next pull takes it (or sees the end)
            break;
          }
          chunks.push(more.value);
          size += more.value.length;
        }
        controller.enqueue(chunks.length === 1 ? chunks[0]! : _joinBytes(chunks));
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Bun's FileSink as a WritableStream; write() settles once the pipe took the bytes. */
function _sinkStream(sink: BunFileSink): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      await sink.write(chunk);
      await sink.flush();
    },
    async close() {
      await sink.end();
    },
    async abort() {
      await sink.end();
    },
  });
}

// ## Files

async function readTextFile(path: string): Promise<string | undefined> {
  try {
    return await Bun.file(path).text();
  } catch (error) {
    if ((error as { code?: string } | null)?.code === "ENOENT") return undefined;
    throw error;
  }
}

// ## The runtime

export const bun: Runtime = {
  name: "bun",
  get version() {
    return Bun.version;
  },
  get argv() {
    return Bun.argv.slice(2);
  },
  get invocation() {
    return [process.execPath, Bun.argv[1] ?? "agent.js"]; // Bun makes the script's path absolute
  },
  env: (name) => process.env[name],
  envAll: () => {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) all[k] = v;
    return all;
  },
  exit: (code) => process.exit(code),
  hostname: () => hostname(),
  spawn,
  spawnPty: bunSpawnPty,
  readTextFile,
  writeFile,
  mkdir: async (path, options = {}) => {
    await mkdir(path, { recursive: true, mode: options.mode ?? 0o700 });
  },
  remove: (path) => rm(path, { force: true }),
  loadHmacSha256,
  connect: bunConnect,
  listen: bunListen,
  // Bun's client offers permessage-deflate unless told not to (workerd accepts it): zlib both ways on
  // every frame cost more CPU than the frames' crypto, for data that is mostly compressed or ciphertext.
  openWebSocket: (url) => new WebSocket(url, { perMessageDeflate: false } as unknown as string[]),
  onSignal: (signal, handler) => {
    process.on(signal, handler);
  },
  onUncaught: (handler) => {
    process.on("uncaughtException", handler);
    process.on("unhandledRejection", handler);
  },
};
