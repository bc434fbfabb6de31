// TCP on Bun: Bun.connect and Bun.listen, whose sockets call handlers rather than offer streams. Each
// socket gets a _BunConn that turns the handlers into the seam's pull-based streams: reading pauses once
// READ_AHEAD_BYTES wait unread, a read takes everything waiting as one chunk, and writes wait for `drain`
// when the kernel takes only part.

import { _joinBytes } from "../../schema/protocol/_bytes.ts";
import { _connectError, type TcpConn, type TcpListener } from "./runtime.ts";

// ## The few Bun APIs used, typed here (bun-types would clash with the DOM / workers globals)

interface BunSocket {
  /** Bytes the kernel took, possibly fewer than given (then `drain` follows); -1 when closed. */
  write(data: Uint8Array): number;
  /** shutdown(2) of the write side: FIN, reading goes on. */
  shutdown(): void;
  /** Closes at once (RST). */
  terminate(): void;
  /** Closes gracefully. */
  end(): void;
  pause(): void;
  resume(): void;
  data: unknown;
}

interface BunSocketHandler {
  binaryType: "uint8array";
  open?(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
  connectError?(socket: BunSocket, error: Error): void;
}

interface BunTcpApi {
  connect(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    socket: BunSocketHandler;
  }): Promise<BunSocket>;
  listen(options: { hostname: string; port: number; allowHalfOpen: boolean; socket: BunSocketHandler }): {
    readonly port: number;
    stop(closeActiveConnections?: boolean): void;
  };
}

declare const Bun: BunTcpApi;

/**
 * Bytes a socket may read ahead of its consumer. Bun hands over what one read(2) gave (often 64 KiB or
 * less); gathering what arrived while the consumer was busy into one chunk makes one frame of it, and
 * every frame costs the relay about as much as a small one. A fast consumer still gets each chunk as it
 * comes. Bounds memory: at most this much (plus one read) per socket.
 */
const READ_AHEAD_BYTES = 256 * 1024;

// ## One connection

class _BunConn implements TcpConn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  #socket: BunSocket | undefined;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #eof = false;
  /** Each side's FIN: the peer's came (`end`), ours went (shutdown). */
  #finIn = false;
  #finOut = false;
  #failure: Error | undefined;
  #closed = false;
  #wakeReader: (() => void) | undefined;
  #wakeWriter: (() => void) | undefined;

  constructor() {
    this.readable = new ReadableStream<Uint8Array>(
      { pull: (controller) => this.#pull(controller), cancel: () => this.close() },
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => this.#shutdown(),
      abort: () => this.close(),
    });
  }

  attach(socket: BunSocket): void {
    this.#socket = socket;
    if (this.#closed) socket.terminate();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#eof = true;
    try {
      // After both FINs, a plain end: what the kernel still holds is delivered. Otherwise a reset
      // (terminate), which drops it: the stream was aborted.
      if (this.#finIn && this.#finOut) this.#socket?.end();
      else this.#socket?.terminate();
    } catch {}
    this.#wake();
  }

  #shutdown(): void {
    if (this.#closed) return; // a peer that is gone already needs no FIN
    try {
      this.#socket?.shutdown();
      this.#finOut = true;
    } catch {}
  }

  // Handlers, called by Bun.

  onData(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= READ_AHEAD_BYTES) this.#socket?.pause(); // resumed by the next pull
    this.#wake();
  }

  onEnd(): void {
    this.#finIn = true;
    this.#eof = true;
    this.#wake();
  }

  onClose(error?: Error): void {
    if (error !== undefined) this.#failure ??= error;
    this.#eof = true;
    this.#closed = true;
    this.#wake();
  }

  onError(error: Error): void {
    this.#failure ??= error;
    this.#wake();
  }

  onDrain(): void {
    const wake = this.#wakeWriter;
    this.#wakeWriter = undefined;
    wake?.();
  }

  // Streams.

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      if (this.#chunks.length > 0) {
        const chunk = this.#chunks.length === 1 ? this.#chunks[0]! : _joinBytes(this.#chunks);
        this.#chunks = [];
        this.#queued = 0;
        this.#socket?.resume();
        return controller.enqueue(chunk);
      }
      if (this.#failure !== undefined) return controller.error(this.#failure);
      if (this.#eof) return controller.close();
      this.#socket?.resume();
      await new Promise<void>((resolve) => {
        this.#wakeReader = resolve;
      });
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.#failure !== undefined) throw this.#failure;
      const n = this.#closed || !this.#socket ? -1 : this.#socket.write(rest);
      if (n < 0) throw new Error("the connection is closed");
      rest = rest.subarray(n);
      if (rest.length > 0) {
        await new Promise<void>((resolve) => {
          this.#wakeWriter = resolve;
        });
      }
    }
  }

  #wake(): void {
    const reader = this.#wakeReader;
    this.#wakeReader = undefined;
    reader?.();
    if (this.#closed || this.#failure !== undefined) this.onDrain(); // a waiting write fails
  }
}

/** Handlers shared by every socket: each finds its _BunConn in socket.data. */
const HANDLERS: Omit<BunSocketHandler, "open"> = {
  binaryType: "uint8array",
  data: (socket, data) => (socket.data as _BunConn).onData(data),
  drain: (socket) => (socket.data as _BunConn).onDrain(),
  end: (socket) => (socket.data as _BunConn).onEnd(),
  close: (socket, error) => (socket.data as _BunConn | undefined)?.onClose(error),
  error: (socket, error) => (socket.data as _BunConn | undefined)?.onError(error),
};

// ## Connect and listen

export async function bunConnect(host: string, port: number): Promise<TcpConn> {
  const conn = new _BunConn();
  try {
    const socket = await Bun.connect({
      hostname: host,
      port,
      // Half close: the peer's FIN ends our reading only; we send ours when we are done writing.
      allowHalfOpen: true,
      socket: {
        ...HANDLERS,
        open(socket) {
          socket.data = conn;
          conn.attach(socket);
        },
        connectError() {}, // the promise rejects; this only keeps Bun from reporting it as unhandled
      },
    });
    socket.data = conn;
    conn.attach(socket);
    return conn;
  } catch (error) {
    throw _connectError(error);
  }
}

export function bunListen(host: string, port: number, onConnection: (conn: TcpConn) => void): TcpListener {
  const listener = Bun.listen({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      ...HANDLERS,
      open(socket) {
        const conn = new _BunConn();
        socket.data = conn;
        conn.attach(socket);
        onConnection(conn);
      },
    },
  });
  let closed = false;
  return {
    port: listener.port,
    close() {
      if (closed) return;
      closed = true;
      listener.stop(false);
    },
  };
}
