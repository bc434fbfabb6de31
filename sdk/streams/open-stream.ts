// The SDK's one stream opener: dials the stream's WebSocket (socket.ts), and handles what every kind
// shares (`started` gives the session id, `credit` feeds the send window, `error` and a dropped socket
// end the stream), so that a kind (exec.ts, tcp.ts) only says what its own frames mean. A new stream
// kind is one more file like those, calling openStream.
import type { ServerToClient } from "../../schema/protocol/client-frames.ts";
import { deferred, StreamSocket } from "./socket.ts";

/** What a kind does with its stream: its own frames, how it ends, and what its caller gets. */
export interface StreamKind<T> {
  /** A frame the core does not handle itself (not started, credit or error). */
  onFrame(frame: ServerToClient): void;
  /** The stream ended: undefined after socket.finish(), the error otherwise. */
  onEnd(error: unknown): void;
  /** What openStream returns, besides the session. */
  value: T;
}

export interface OpenStreamOptions {
  /** The route's WebSocket URL, with the kind's query (spec, target, credit). */
  url: URL;
  token: string;
  /** The receive credit the query asks for (the HostDO clamps it the same way). */
  window?: number;
}

/** Opens one stream of the kind `kind` makes on its socket. */
export function openStream<T>(
  options: OpenStreamOptions,
  kind: (socket: StreamSocket) => StreamKind<T>,
): T & { readonly session: Promise<string> } {
  const socket = new StreamSocket(options.url, options.token, options.window);
  const session = deferred<string>();
  const handler = kind(socket);
  socket.listen(
    (frame) => {
      if (frame.t === "started") session.resolve(frame.session);
      else if (frame.t === "credit") socket.addCredit(frame.bytes);
      else handler.onFrame(frame);
    },
    (error) => {
      if (error !== undefined) session.reject(error);
      handler.onEnd(error);
    },
  );
  return { ...handler.value, session: session.promise };
}
