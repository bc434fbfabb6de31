// A TCP stream to a service on a host (or a port on its loopback, where the host allows it): bytes to
// read and to write, half close with fin, credit-based flow control both ways. A kind on the one
// opener (open-stream.ts).
import { openStream } from "./open-stream.ts";
import { deferred } from "./socket.ts";

export interface TcpStream {
  /** Resolves with the session id once the host is dialling. */
  readonly session: Promise<string>;
  /** Resolves when the host has connected to the target; rejects with why it could not. */
  readonly opened: Promise<void>;
  readonly readable: ReadableStream<Uint8Array>;
  /** Closing it sends fin: the target sees end of input while its replies keep flowing. */
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves when both directions are done; rejects when the stream breaks. */
  readonly closed: Promise<void>;
  /** Drops the stream at once, both ways. */
  close(): void;
}

/** `url`: the tcp route's WebSocket URL, target and credit in its query. */
export function openTcp(url: URL, token: string): TcpStream {
  const window = Number(url.searchParams.get("credit")) || undefined;
  return openStream({ url, token, ...(window !== undefined ? { window } : {}) }, (socket) => {
    const opened = deferred<void>();
    const closed = deferred<void>();
    const readable = socket.output();
    let finSent = false;
    let finReceived = false;
    const maybeDone = () => {
      if (finSent && finReceived) socket.finish();
    };
    return {
      onFrame(frame) {
        if (frame.t === "opened") {
          socket.addCredit(frame.credit);
          opened.resolve();
        } else if (frame.t === "data") readable.push(frame.data);
        else if (frame.t === "fin") {
          finReceived = true;
          readable.end();
          maybeDone();
        }
      },
      onEnd(error) {
        if (error === undefined) return closed.resolve();
        opened.reject(error);
        closed.reject(error);
      },
      value: {
        opened: opened.promise,
        readable: readable.stream,
        writable: new WritableStream<Uint8Array>({
          async write(chunk) {
            await opened.promise;
            await socket.sendCredited(chunk, (data) => ({ t: "data", data }));
          },
          async close() {
            await opened.promise;
            socket.send({ t: "fin" });
            finSent = true;
            maybeDone();
          },
        }),
        closed: closed.promise,
        close: () => socket.close(),
      },
    };
  });
}
