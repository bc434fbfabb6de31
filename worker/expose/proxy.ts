// The reverse proxy of an exposure: one request from the edge becomes one TCP stream to the host's
// service (host-stream.ts), over which the Worker speaks HTTP/1.1 (http1.ts) — request and response
// bodies stream both ways under the stream's flow control — or, for a WebSocket upgrade, does the
// handshake itself and re-frames messages (ws-frames.ts) between the caller's socket and the upstream.
//
// The upstream learns who is calling from identity headers the proxy sets (request-head.ts); any such
// header the caller sent is removed first, as are the caller's Outpost credentials. The body goes up
// framed by the proxy (request-framing.ts), never by the caller's Content-Length.
import type { Bindings } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { hostOnly } from "./cookies.ts";
import { HostStream, StreamBroken, type StreamRequest } from "./host-stream.ts";
import {
  type BodyFraming,
  encodeBody,
  encodeRequestHead,
  HttpError,
  type ResponseEvent,
  ResponseParser,
} from "./http1.ts";
import { requestFraming } from "./request-framing.ts";
import { hopByHop, type Identity, upstreamHead } from "./request-head.ts";
import {
  acceptKey,
  closePayload,
  encodeFrame,
  FrameParser,
  newWebSocketKey,
  WsProtocolError,
} from "./ws-frames.ts";

// The gateway names callers with this type; it is defined with the head it shapes.
export type { Identity } from "./request-head.ts";

/** Unsent caller→upstream WebSocket bytes beyond this close the socket (1013): memory stays bounded. */
const MAX_PENDING_WS_BYTES = 4 * 1024 * 1024;

export interface ProxyOptions {
  env: Bindings;
  stream: StreamRequest;
  identity: Identity;
  /** The path prefix the exposure is served under (`/x/<name>`), or "" when served at a hostname. */
  prefix: string;
  waitUntil: (p: Promise<unknown>) => void;
  /** A Set-Cookie for the caller (a link's cookie), added to an HTTP response. */
  setCookie?: string;
}

export async function proxy(request: Request, opts: ProxyOptions): Promise<Response> {
  const isUpgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
  const framing = requestFraming(request);
  const head = upstreamHead(
    request,
    { identity: opts.identity, prefix: opts.prefix, adminToken: opts.env.OUTPOST_ADMIN_TOKEN },
    isUpgrade,
  );
  const stream = await HostStream.open(opts.env, opts.stream);
  try {
    if (isUpgrade) {
      const key = newWebSocketKey();
      head.headers.push(
        ["connection", "Upgrade"],
        ["upgrade", "websocket"],
        ["sec-websocket-key", key],
        ["sec-websocket-version", "13"],
      );
      await stream.write(encodeRequestHead("GET", head.target, head.headers));
      return await webSocketResponse(stream, key, opts);
    }
    if (framing?.kind === "length") head.headers.push(["content-length", String(framing.length)]);
    if (framing?.kind === "chunked") head.headers.push(["transfer-encoding", "chunked"]);
    head.headers.push(["connection", "close"]);
    await stream.write(encodeRequestHead(request.method, head.target, head.headers));
    if (framing && request.body) opts.waitUntil(sendBody(stream, request.body, framing));
    return await httpResponse(stream, request.method, opts);
  } catch (err) {
    stream.close();
    if (err instanceof HttpError)
      throw new ApiError(
        502,
        "bad_upstream_response",
        `the service's answer is not valid HTTP/1.1: ${err.message}`,
      );
    throw err;
  }
}

/** Streams the caller's body up under the proxy's own framing. */
async function sendBody(
  stream: HostStream,
  body: ReadableStream<Uint8Array>,
  framing: BodyFraming,
): Promise<void> {
  try {
    for await (const bytes of encodeBody(body as unknown as AsyncIterable<Uint8Array>, framing))
      await stream.write(bytes);
  } catch {
    // The caller went away, the stream broke, or the body broke its length: the request cannot be
    // completed, so the connection is cut (never just finished) and the response side reports it.
    stream.close();
  }
}

/** Reads stream bytes into the parser until it yields something. */
async function nextEvents(stream: HostStream, parser: ResponseParser): Promise<ResponseEvent[]> {
  for (;;) {
    const bytes = await stream.read();
    const events = bytes ? parser.push(bytes) : parser.end();
    if (events.length || !bytes) return events;
  }
}

async function readHead(stream: HostStream, parser: ResponseParser) {
  const pending: ResponseEvent[] = [];
  for (;;) {
    const events = await nextEvents(stream, parser);
    if (!events.length) throw upstreamError("the service closed the connection without answering");
    const at = events.findIndex((e) => e.type === "head");
    if (at >= 0) {
      pending.push(...events.slice(at + 1));
      return { head: events[at] as Extract<ResponseEvent, { type: "head" }>, pending };
    }
  }
}

function responseHeaders(head: Extract<ResponseEvent, { type: "head" }>): Headers {
  const hop = hopByHop(head.headers.filter(([n]) => n === "connection").map(([, v]) => v));
  const out = new Headers();
  for (const [name, value] of head.headers) {
    // Each Set-Cookie stays its own field (RFC 6265 §3: they cannot be merged).
    if (name === "set-cookie") out.append(name, hostOnly(value));
    else if (name === "content-length" || !hop(name)) out.append(name, value);
  }
  return out;
}

async function httpResponse(stream: HostStream, method: string, opts: ProxyOptions): Promise<Response> {
  const parser = new ResponseParser({ method });
  const { head, pending } = await readHead(stream, parser);
  if (head.status < 200)
    throw upstreamError(`the service answered ${head.status} to a request that asked for no upgrade`);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    // Our side is done; the upstream closes its side (Connection: close) and the session ends cleanly.
    stream.fin();
    opts.waitUntil(drain(stream));
  };
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const events = pending.length ? pending.splice(0) : await nextEvents(stream, parser);
            let gave = false;
            for (const e of events) {
              if (e.type === "body") {
                controller.enqueue(e.data);
                gave = true;
              } else if (e.type === "end") {
                controller.close();
                finish();
                return;
              }
            }
            if (gave) return;
            if (!events.length)
              throw upstreamError("the service closed the connection in the middle of the body");
          }
        } catch (err) {
          done = true;
          stream.close();
          controller.error(err);
        }
      },
      cancel() {
        done = true;
        stream.close();
      },
    },
    { highWaterMark: 0 },
  );
  const noBody = method === "HEAD" || head.status === 204 || head.status === 304;
  if (noBody) {
    void body.cancel().catch(() => {});
    finish();
  }
  const headers = responseHeaders(head);
  if (opts.setCookie) headers.append("set-cookie", opts.setCookie);
  return new Response(noBody ? null : body, {
    status: head.status,
    statusText: head.statusText,
    headers,
    // The body goes out as the upstream encoded it: no second compression, no buffering for it.
    encodeBody: "manual",
  });
}

/** After our fin: read until the upstream's, so the stream ends as complete; cut it after a while. */
async function drain(stream: HostStream): Promise<void> {
  const cut = setTimeout(() => stream.close(), 5_000);
  try {
    while ((await stream.read()) !== null) {}
  } catch {
  } finally {
    clearTimeout(cut);
    stream.close();
  }
}

const upstreamError = (message: string) => new ApiError(502, "bad_upstream_response", message);

/** A close code that may go in a close frame: 1005/1006/1015 only report, they are never sent. */
function sendable(code: number | undefined): number {
  return code !== undefined &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
    ? code
    : 1000;
}

async function webSocketResponse(stream: HostStream, key: string, opts: ProxyOptions): Promise<Response> {
  const parser = new ResponseParser({ method: "GET" });
  const { head, pending } = await readHead(stream, parser);
  if (head.status !== 101) {
    // The upstream said no (403, 404, …): the caller sees its answer as it is.
    const rest = pending.flatMap((e) => (e.type === "body" ? [e.data] : []));
    const body = new Blob(rest as BlobPart[]);
    stream.close();
    return new Response(head.status === 204 || head.status === 304 ? null : body, {
      status: head.status < 200 ? 502 : head.status,
      headers: responseHeaders(head),
    });
  }
  const accept = head.headers.find(([n]) => n === "sec-websocket-accept")?.[1];
  if (accept !== (await acceptKey(key)))
    throw upstreamError("the service answered the upgrade with a wrong Sec-WebSocket-Accept");

  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  // Pair sockets may hand binary messages over as Blobs; relaying is synchronous, so ask for bytes.
  server.binaryType = "arraybuffer";
  const closeCaller = (code: number, reason: string) => {
    try {
      server.close(code, reason.slice(0, 120));
    } catch {}
  };
  const frames = new FrameParser();
  let closeSent = false;
  const sendClose = (code: number, reason: string) => {
    if (closeSent) return;
    closeSent = true;
    up(encodeFrame(0x8, closePayload(code, reason)));
    stream.fin();
  };

  // Caller → upstream, in order, with a bound on what may wait for the host's credit.
  let queue = Promise.resolve();
  let waiting = 0;
  const up = (bytes: Uint8Array) => {
    waiting += bytes.length;
    if (waiting > MAX_PENDING_WS_BYTES) {
      closeCaller(1013, "the upstream is not keeping up");
      stream.close();
      return;
    }
    queue = queue.then(async () => {
      try {
        await stream.write(bytes);
      } catch {}
      waiting -= bytes.length;
    });
  };
  server.addEventListener("message", (e) => {
    if (closeSent) return;
    const text = typeof e.data === "string";
    const data = text ? new TextEncoder().encode(e.data) : new Uint8Array(e.data as ArrayBuffer);
    up(encodeFrame(text ? 0x1 : 0x2, data));
  });
  server.addEventListener("close", (e) => sendClose(sendable(e.code), e.reason));
  server.addEventListener("error", () => sendClose(1001, "the caller went away"));

  // Upstream → caller.
  const deliver = (bytes: Uint8Array) => {
    for (const f of frames.push(bytes)) {
      if (f.type === "text" || f.type === "binary") server.send(f.data);
      else if (f.type === "ping") up(encodeFrame(0xa, f.data));
      else if (f.type === "close") {
        sendClose(sendable(f.code), f.reason);
        closeCaller(sendable(f.code), f.reason);
      }
    }
  };
  const relay = (async () => {
    try {
      for (const e of pending) if (e.type === "body") deliver(e.data);
      for (;;) {
        const events = await nextEvents(stream, parser);
        for (const e of events) if (e.type === "body") deliver(e.data);
        if (!events.length || events.some((e) => e.type === "end")) break;
      }
      closeCaller(1000, "the upstream closed");
    } catch (err) {
      const code = err instanceof WsProtocolError ? err.code : 1011;
      const reason =
        err instanceof StreamBroken || err instanceof WsProtocolError ? err.message : "relay failed";
      closeCaller(code, reason);
    } finally {
      stream.close();
    }
  })();
  opts.waitUntil(relay);

  const headers = new Headers();
  const protocol = head.headers.find(([n]) => n === "sec-websocket-protocol")?.[1];
  if (protocol) headers.set("sec-websocket-protocol", protocol);
  return new Response(null, { status: 101, webSocket: client, headers });
}
