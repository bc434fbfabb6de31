// The runtime seam: everything the agent needs from its host runtime that the web platform does not
// give it (processes, files with modes, environment, exit, signals, TCP sockets). The agent core sees only this
// shape; bun.ts and deno.ts fill it in, and index.ts picks one once at start. Keep it small: anything
// fetch, WebSocket, crypto.subtle, streams or node:os can do stays out of here.

import type { HmacSha256 } from "../../schema/protocol/index.ts";

export type RuntimeName = "bun" | "deno";

/** The signals the agent itself handles (shutdown). */
export type ShutdownSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

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

/** A process on a new pseudo-terminal (agent/pty/): the terminal's one output, its input, its size. */
export interface PtyOptions {
  cwd?: string;
  /** The child's whole environment (the caller merges), TERM included. */
  env?: Record<string, string>;
  cols: number;
  rows: number;
}

export interface PtyProcess {
  readonly pid: number;
  /** The terminal's input; write() resolves once the terminal took the bytes. */
  readonly input: WritableStream<Uint8Array>;
  /** The terminal's output; ends when the terminal closes. */
  readonly output: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  resize(cols: number, rows: number): void;
  kill(signal?: string): void;
  /** Closes the terminal (its session gets SIGHUP). Idempotent. */
  close(): void;
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

// ## TCP

/** A TCP connection as two web streams, so the core splices it like an exec's pipes. */
export interface TcpConn {
  /**
   * Bytes from the peer. Pull-based: the socket is read only while the reader asks (one chunk of at
   * most 64 KiB waits at a time), so an unread stream stalls the peer through TCP's own window. Ends
   * at the peer's FIN; errors when the connection breaks.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Bytes to the peer; write() resolves once the kernel took them (backpressure). close() shuts the
   * write side down (FIN) after the pending writes, and reading goes on: a half close.
   */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Closes the connection, both ways, at once. After both FINs (the readable ended and the writable
   * was closed) what is still in the kernel's buffers is delivered; before, the connection may be
   * reset and unsent bytes dropped: an abort. Idempotent.
   */
  close(): void;
}

export interface TcpListener {
  /** The port it listens on (the one asked for, or the kernel's pick for 0). */
  readonly port: number;
  /** Stops accepting; connections already accepted stay up. Idempotent. */
  close(): void;
}

/** Why a connect failed; the core turns it into one line for the person who asked. */
export type ConnectFailure = "refused" | "unreachable" | "timeout" | "not_found" | "failed";

export class ConnectError extends Error {
  override name = "ConnectError";
  readonly reason: ConnectFailure;

  constructor(reason: ConnectFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

export interface Runtime {
  readonly name: RuntimeName;
  /** The runtime's own version, e.g. "1.4.5". */
  readonly version: string;
  /** Command-line arguments after the script. */
  readonly argv: readonly string[];
  /** How this agent was started, up to the script: `[<bun>, <agent.js>]` or `[<deno>, "run", "-A",
   *  <agent.js>]`, absolute paths, so that a printed start command works from any directory. */
  readonly invocation: readonly string[];
  env(name: string): string | undefined;
  envAll(): Record<string, string>;
  exit(code: number): never;
  hostname(): string;
  /** Starts argv[0] (looked up on PATH, no shell) with piped stdio. Throws SpawnError. */
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Starts argv on a new pseudo-terminal, where the runtime has one of its own (Bun); agent/pty/
   *  drives util-linux's `script` through spawn where it has not (Deno). Throws SpawnError. */
  spawnPty?(argv: readonly string[], options: PtyOptions): PtyProcess;
  /** The file's text, or undefined when it does not exist. */
  readTextFile(path: string): Promise<string | undefined>;
  /** Atomic: writes a temporary file created with `mode`, then renames it over `path`. */
  writeFile(path: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void>;
  /** Creates `path` and its parents; `mode` applies to the directories it creates. */
  mkdir(path: string, options?: { mode?: number }): Promise<void>;
  /** Removes a file; no error when it is already gone. */
  remove(path: string): Promise<void>;
  /** Opens a TCP connection to `host` (an IP address, or a name the runtime resolves) and `port`.
   *  Rejects with ConnectError; it does not time out by itself. */
  connect(host: string, port: number): Promise<TcpConn>;
  /** Listens on `host`:`port` and hands every accepted connection to `onConnection`. Throws an Error
   *  saying why when the address cannot be bound (in use, not local, …). */
  listen(host: string, port: number, onConnection: (conn: TcpConn) => void): TcpListener;
  /**
   * HMAC-SHA256 of the concatenation of `parts`, synchronous: the data keys' MAC (schema/protocol/
   * data-key.ts, which says why not WebCrypto's here). Both runtimes use node:crypto (hmac.ts), loaded
   * on the first call: an idle agent does without it.
   */
  loadHmacSha256(): Promise<HmacSha256>;
  /** A WebSocket to the control plane (binary frames; no per-message compression, see each runtime). */
  openWebSocket(url: string): WebSocket;
  onSignal(signal: ShutdownSignal, handler: () => void): void;
  /** Last resort for errors nothing else caught, so one bad handler cannot take the agent down. */
  onUncaught(handler: (error: unknown) => void): void;
}

/** The temporary name writeFile uses next to `path`. */
export function _tempPath(path: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return `${path}.tmp-${random}`;
}

/** A runtime's connect failure (Node-style `code`, or Deno's error class name) as a ConnectError. */
export function _connectError(error: unknown): ConnectError {
  const e = error as { code?: unknown; name?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const name = typeof e?.name === "string" ? e.name : "";
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim();
  const reason: ConnectFailure =
    code === "ECONNREFUSED" || name === "ConnectionRefused"
      ? "refused"
      : code === "ETIMEDOUT" || name === "TimedOut"
        ? "timeout"
        : ["ENETUNREACH", "EHOSTUNREACH", "EHOSTDOWN", "ENETDOWN"].includes(code) ||
            name === "NetworkUnreachable"
          ? "unreachable"
          : code === "ENOTFOUND" || code.startsWith("EAI_") || /lookup address information/i.test(message)
            ? "not_found"
            : "failed";
  return new ConnectError(reason, message || code || name || "unknown error", { cause: error });
}
