// Real TCP servers on 127.0.0.1 (node:net, half-open allowed) for the agent's tcp tests: what a
// service on the host would be. Each remembers what it received and how its connections ended.
import { createServer, type Server, type Socket } from "node:net";
import { sha256 } from "./peer-stream.ts";

export interface ServerConnection {
  socket: Socket;
  received: Buffer[];
  /** Resolves when the client half-closed (FIN), with the bytes received up to then. */
  ended: Promise<Buffer>;
  /** Resolves when the socket is gone, however it went. */
  closed: Promise<void>;
  /** Bytes the kernel took from this server's writes (write callbacks fired). */
  flushed: number;
}

export interface TestServer {
  port: number;
  connections: ServerConnection[];
  /** The next connection (or one already made and not yet taken). */
  nextConnection(ms?: number): Promise<ServerConnection>;
  close(): Promise<void>;
}

/** A server that hands each connection to `handle` after recording it. */
export async function startServer(
  handle: (conn: ServerConnection) => void,
  host = "127.0.0.1",
): Promise<TestServer> {
  const connections: ServerConnection[] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const received: Buffer[] = [];
    socket.on("data", (d: Buffer) => received.push(d));
    const conn: ServerConnection = {
      socket,
      received,
      ended: new Promise((resolve) => socket.on("end", () => resolve(Buffer.concat(received)))),
      closed: new Promise((resolve) => socket.on("close", () => resolve())),
      flushed: 0,
    };
    socket.on("error", () => {});
    connections.push(conn);
    handle(conn);
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as { port: number }).port,
    connections,
    async nextConnection(ms = 10_000) {
      const deadline = Date.now() + ms;
      while (connections.length <= taken) {
        if (Date.now() > deadline) throw new Error(`no connection within ${ms} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return connections[taken++]!;
    },
    close() {
      for (const c of connections) c.socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Echoes every byte, and half-closes after the client did. */
export function echoServer(): Promise<TestServer> {
  return startServer(({ socket }) => {
    socket.pipe(socket);
  });
}

/** Sends `bytes` and half-closes at once; keeps reading what the client sends. */
export function sourceServer(bytes: Uint8Array): Promise<TestServer> {
  return startServer((conn) => {
    conn.socket.end(bytes);
  });
}

/** Writes `total` bytes as fast as the connection takes them, counting what the kernel took. */
export function floodServer(total: number, chunk = 64 * 1024): Promise<TestServer> {
  return startServer((conn) => {
    let sent = 0;
    const block = Buffer.alloc(chunk, 7);
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk, total - sent);
        sent += n;
        const more = conn.socket.write(block.subarray(0, n), () => {
          conn.flushed += n;
        });
        if (!more) return void conn.socket.once("drain", pump);
      }
      conn.socket.end();
    };
    pump();
  });
}

/** A port nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = await startServer(() => {});
  await server.close();
  return server.port;
}

export { sha256 };
