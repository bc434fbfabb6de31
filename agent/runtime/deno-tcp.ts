// TCP on Deno: Deno.connect and Deno.listen. A Deno.TcpConn already reads and writes on demand; the
// seam's streams are thin wrappers so that writable.close() is closeWrite() (a half close), not the
// end of the whole connection.
import { _connectError, type TcpConn, type TcpListener } from "./runtime.ts";

// ## The few Deno APIs used, typed here (Deno's lib types would clash with the DOM / workers globals)

interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
}

interface DenoListener {
  readonly addr: { port: number };
  accept(): Promise<DenoConn>;
  close(): void;
}

interface DenoTcpApi {
  connect(options: { hostname: string; port: number; transport: "tcp" }): Promise<DenoConn>;
  listen(options: { hostname: string; port: number; transport: "tcp" }): DenoListener;
}

declare const Deno: DenoTcpApi;

/** Largest read; also the most a stream holds unread. */
const READ_BYTES = 64 * 1024;

// ## One connection

function _wrap(conn: DenoConn): TcpConn {
  // Deno leaves Nagle's algorithm on: a small write after another waits for the peer's delayed ACK,
  // 40 ms on Linux, on every request/response exchange (an HTTP request in two writes, ssh keystrokes).
  // The relay already sends what it has at once, in the largest pieces it has.
  conn.setNoDelay(true);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {}
  };
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const buffer = new Uint8Array(READ_BYTES);
        let n: number | null;
        try {
          n = await conn.read(buffer);
        } catch (error) {
          if (closed) return controller.close(); // our own close() interrupted the read
          throw error;
        }
        if (n === null) controller.close();
        else controller.enqueue(buffer.subarray(0, n));
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      let rest = chunk;
      while (rest.length > 0) rest = rest.subarray(await conn.write(rest));
    },
    // A peer that is gone already needs no FIN; the read side reports how it went.
    close: () => conn.closeWrite().catch(() => {}),
    abort: close,
  });
  return { readable, writable, close };
}

// ## Connect and listen

export async function denoConnect(host: string, port: number): Promise<TcpConn> {
  try {
    return _wrap(await Deno.connect({ hostname: host, port, transport: "tcp" }));
  } catch (error) {
    throw _connectError(error);
  }
}

export function denoListen(host: string, port: number, onConnection: (conn: TcpConn) => void): TcpListener {
  const listener = Deno.listen({ hostname: host, port, transport: "tcp" });
  let closed = false;
  void (async () => {
    while (!closed) {
      try {
        onConnection(_wrap(await listener.accept()));
      } catch {
        // Closed by close(), or a passing failure (out of file descriptors): wait a moment, go on.
        if (!closed) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  })();
  return {
    port: listener.addr.port,
    close() {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch {}
    },
  };
}
