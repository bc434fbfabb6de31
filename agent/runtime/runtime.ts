// The runtime seam: everything the agent needs from its host runtime that the web platform does not
// give it (processes, files with modes, environment, exit, signals). The agent core sees only this
// shape; bun.ts and deno.ts fill it in, and index.ts picks one once at start. Keep it small: anything
// fetch, WebSocket, crypto.subtle, streams or node:os can do stays out of here.

export type RuntimeName = "bun" | "deno";

/** The signals the agent itself handles (shutdown). */
export type ShutdownSignal = "SIGINT" | "SIGTERM";

export interface SpawnOptions {
  /** Working directory; the agent's own when absent. */
  cwd?: string;
  /** The child's whole environment (not merged with the agent's: the caller merges). */
  env?: Record<string, string>;
}

/** How a process ended: `code` is null when a signal killed it, and `signal` names that signal. */
export interface ExitStatus {
  code: number | null;
  signal?: string;
}

export interface ChildProcess {
  readonly pid: number;
  /** The child's stdin; write() resolves once the bytes are in the pipe (backpressure). */
  readonly stdin: WritableStream<Uint8Array>;
  /** Pull-based: nothing is read from the pipe beyond a small buffer until the reader asks. */
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` ("SIGTERM" when absent). Throws TypeError for a signal the runtime does not know;
   *  does nothing once the process has exited. */
  kill(signal?: string): void;
}

/** Why a process could not be started; exec turns it into exit 127 (126 for "permission"). */
export type SpawnFailure = "not_found" | "permission" | "bad_cwd" | "failed";

export class SpawnError extends Error {
  override name = "SpawnError";
  readonly reason: SpawnFailure;

  constructor(reason: SpawnFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

export interface WriteFileOptions {
  /** File mode, applied exactly (not masked by the umask). 0o600 when absent. */
  mode?: number;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** The runtime's own version, e.g. "1.4.5". */
  readonly version: string;
  /** Command-line arguments after the script. */
  readonly argv: readonly string[];
  env(name: string): string | undefined;
  envAll(): Record<string, string>;
  exit(code: number): never;
  hostname(): string;
  /** Starts argv[0] (looked up on PATH, no shell) with piped stdio. Throws SpawnError. */
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess;
  /** The file's text, or undefined when it does not exist. */
  readTextFile(path: string): Promise<string | undefined>;
  /** Atomic: writes a temporary file created with `mode`, then renames it over `path`. */
  writeFile(path: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void>;
  /** Creates `path` and its parents; `mode` applies to the directories it creates. */
  mkdir(path: string, options?: { mode?: number }): Promise<void>;
  /** Removes a file; no error when it is already gone. */
  remove(path: string): Promise<void>;
  onSignal(signal: ShutdownSignal, handler: () => void): void;
  /** Last resort for errors nothing else caught, so one bad handler cannot take the agent down. */
  onUncaught(handler: (error: unknown) => void): void;
}

/** The temporary name writeFile uses next to `path`. */
export function _tempPath(path: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return `${path}.tmp-${random}`;
}
