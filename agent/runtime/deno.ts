// The runtime seam on Deno: Deno.Command for processes, Deno's file APIs for state, Deno.env, signal
// listeners, and Deno.connect / Deno.listen (deno-tcp.ts). Deno's child pipes are already pull-based web streams, so they pass through as-is.

import { denoConnect, denoListen } from "./deno-tcp.ts";
import { loadHmacSha256 } from "./hmac.ts";
import {
  type ChildProcess,
  type ExitStatus,
  type Runtime,
  SpawnError,
  type SpawnOptions,
} from "./runtime.ts";
import { writeFile } from "./write-file.ts";

// ## The few Deno APIs used, typed here (Deno's lib types would clash with the DOM / workers globals)

interface DenoChildProcess {
  readonly pid: number;
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly status: Promise<{ success: boolean; code: number; signal: string | null }>;
  kill(signal?: string): void;
}

interface DenoApi {
  readonly args: string[];
  readonly mainModule: string;
  execPath(): string;
  readonly version: { deno: string };
  readonly env: { get(name: string): string | undefined; toObject(): Record<string, string> };
  readonly errors: { NotFound: ErrorConstructor; PermissionDenied: ErrorConstructor };
  Command: new (
    command: string,
    options: {
      args: string[];
      cwd?: string;
      env?: Record<string, string>;
      clearEnv?: boolean;
      stdin: "piped";
      stdout: "piped";
      stderr: "piped";
    },
  ) => { spawn(): DenoChildProcess };
  exit(code: number): never;
  hostname(): string;
  statSync(path: string): { isDirectory: boolean };
  readTextFile(path: string): Promise<string>;
  mkdir(path: string, options: { recursive: boolean; mode: number }): Promise<void>;
  remove(path: string): Promise<void>;
  addSignalListener(signal: string, handler: () => void): void;
}

declare const Deno: DenoApi;

// ## Processes

function spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const [command = "", ...args] = argv;
  let child: DenoChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      // clearEnv: the caller passes the whole environment, as on Bun.
      ...(options.env !== undefined ? { env: options.env, clearEnv: true } : {}),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw _spawnError(command, options.cwd, error);
  }
  let done = false;
  const exited: Promise<ExitStatus> = child.status.then((status) => {
    done = true;
    return status.signal ? { code: null, signal: status.signal } : { code: status.code };
  });
  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    kill(signal = "SIGTERM") {
      if (done) return;
      try {
        child.kill(signal);
      } catch (error) {
        if (done) return; // exited between the check and the kill
        throw new TypeError(`Cannot send ${signal}: ${error instanceof Error ? error.message : error}`);
      }
    },
  };
}

function _spawnError(command: string, cwd: string | undefined, error: unknown): SpawnError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.NotFound) {
    if (cwd !== undefined && !_isDirectory(cwd)) {
      return new SpawnError(
        "bad_cwd",
        `${JSON.stringify(command)}: working directory ${JSON.stringify(cwd)} does not exist`,
      );
    }
    return new SpawnError("not_found", `${JSON.stringify(command)}: command not found`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new SpawnError("permission", `${JSON.stringify(command)}: permission denied`);
  }
  return new SpawnError("failed", `${JSON.stringify(command)}: ${message}`, { cause: error });
}

function _isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

// ## Files

async function readTextFile(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

// ## The runtime

export const deno: Runtime = {
  name: "deno",
  get version() {
    return Deno.version.deno;
  },
  get argv() {
    return Deno.args;
  },
  get invocation() {
    const url = new URL(Deno.mainModule);
    const main = url.protocol === "file:" ? decodeURIComponent(url.pathname) : Deno.mainModule;
    return [Deno.execPath(), "run", "-A", main];
  },
  env: (name) => Deno.env.get(name),
  envAll: () => Deno.env.toObject(),
  exit: (code) => Deno.exit(code),
  hostname: () => Deno.hostname(),
  spawn,
  readTextFile,
  writeFile,
  mkdir: (path, options = {}) => Deno.mkdir(path, { recursive: true, mode: options.mode ?? 0o700 }),
  remove: async (path) => {
    try {
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  },
  loadHmacSha256,
  connect: denoConnect,
  // Deno's client never offers permessage-deflate.
  openWebSocket: (url) => new WebSocket(url),
  listen: denoListen,
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  onUncaught: (handler) => {
    const target = globalThis as unknown as EventTarget;
    target.addEventListener("unhandledrejection", (event: Event) => {
      event.preventDefault();
      handler((event as Event & { reason: unknown }).reason);
    });
    target.addEventListener("error", (event: Event) => {
      event.preventDefault();
      handler((event as Event & { error: unknown }).error);
    });
  },
};
