// The client's end of one stream (schema/protocol/client-frames.ts): a WebSocket authenticated with
// the API key, the control plane's refusals as typed errors, and credit-based flow control both ways
// (the protocol's SendWindow and ReceiveWindow). open-stream.ts is the one opener on top of it, and
// exec.ts and tcp.ts are thin kinds on that.
import WebSocket from "ws";
import {
  type ClientToServer,
  decodeServerFrame,
  encodeStreamFrame,
  type ServerToClient,
} from "../../schema/protocol/client-frames.ts";
import { DEFAULT_STREAM_CREDIT, MAX_STREAM_CREDIT, MIN_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import { ReceiveWindow } from "../../schema/protocol/receive-window.ts";
import { SendWindow } from "../../schema/protocol/send-window.ts";
import { OutpostApiError, OutpostConnectionError, OutpostStreamError } from "../errors.ts";

export interface Output {
  stream: ReadableStream<Uint8Array>;
  push(data: Uint8Array): void;
  end(): void;
  fail(error: unknown): void;
}

export class StreamSocket {
  readonly #ws: WebSocket;
  readonly #url: string;
  /** Credit the host granted: what we may send. */
  readonly #sendWindow = new SendWindow();
  /** Credit we granted: what the host may send; goes back a quarter window at a time as the caller reads. */
  readonly #receiveWindow: ReceiveWindow;
  #done = false;
  #outputs: Output[] = [];
  #onFrame: (frame: ServerToClient) => void = () => {};
  #onEnd: (error?: unknown) => void = () => {};

  /** `window`: the receive credit granted when the stream opened. */
  constructor(url: URL, token: string, window = DEFAULT_STREAM_CREDIT) {
    // The HostDO clamps the window it relays the same way: no more may arrive than it says.
    const granted = Math.min(Math.max(window, MIN_STREAM_CREDIT), MAX_STREAM_CREDIT);
    this.#receiveWindow = ReceiveWindow.quarter(granted, { grantor: "granted by this client" });
    this.#url = url.toString().replace(/\?.*$/, "");
    this.#ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      maxPayload: 2 * 1024 * 1024,
      // No permessage-deflate (ws offers it by default, workerd accepts): zlib on every frame cost the
      // forward CLI about 1 s of CPU per 100 MB, and workerd as much again, for bytes that are mostly
      // ciphertext (ssh) or already compressed.
      perMessageDeflate: false,
      ...(_maskingPointless(url) ? { generateMask: _zeroMask } : {}),
    });
    this.#ws.binaryType = "nodebuffer";
    this.#ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        let code = "http_error";
        let message = `${res.statusCode} ${res.statusMessage}`;
        try {
          const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
          code = parsed.error?.code ?? code;
          message = parsed.error?.message ?? message;
        } catch {}
        this.fail(new OutpostApiError(res.statusCode ?? 0, code, message));
      });
    });
    this.#ws.on("error", (e) => this.fail(new OutpostConnectionError(this.#url, e)));
    this.#ws.on("message", (data: Buffer) => this.#message(data));
    this.#ws.on("close", (code, reason) =>
      this.fail(
        new OutpostStreamError("closed", `the stream closed before it ended (${code} ${reason.toString()})`),
      ),
    );
  }

  /** Where frames go once decoded, and who hears how the stream ended. */
  listen(onFrame: (frame: ServerToClient) => void, onEnd: (error?: unknown) => void): void {
    this.#onFrame = onFrame;
    this.#onEnd = onEnd;
  }

  get done(): boolean {
    return this.#done;
  }

  send(frame: ClientToServer): void {
    if (!this.#done && this.#ws.readyState === WebSocket.OPEN) this.#ws.send(encodeStreamFrame(frame));
  }

  /** The peer lets us send `bytes` more. */
  addCredit(bytes: number): void {
    try {
      this.#sendWindow.grant(bytes);
    } catch (e) {
      this.#breach(
        new OutpostStreamError("bad_frame", `the control plane broke flow control: ${(e as Error).message}`),
      );
    }
  }

  /** Sends `chunk` as frames made by `frame`, never beyond the credit granted; stops when the stream ends. */
  async sendCredited(chunk: Uint8Array, frame: (data: Uint8Array) => ClientToServer): Promise<void> {
    try {
      await this.#sendWindow.send(chunk, (data) => this.send(frame(data)));
    } catch {
      // The stream ended while waiting for credit: how it ended reaches the caller through its outputs.
    }
  }

  /** A ReadableStream whose chunks give their credit back when the caller takes them. */
  output(): Output {
    const queue: Uint8Array[] = [];
    let state: "open" | "ended" | { error: unknown } = "open";
    let discarding = false;
    let wake: (() => void) | undefined;
    const grant = (n: number) => this.#grant(n);
    const stream = new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          while (queue.length === 0 && state === "open") await new Promise<void>((r) => (wake = r));
          const next = queue.shift();
          if (next) {
            c.enqueue(next);
            grant(next.length);
          } else if (state === "ended") c.close();
          else if (state !== "open") c.error(state.error);
        },
        cancel() {
          // The caller stopped reading this one: keep granting for it so another stream is not starved.
          discarding = true;
          for (const q of queue.splice(0)) grant(q.length);
        },
      },
      // highWaterMark 0: a chunk counts as read (and its credit goes back) when the caller takes it.
      { highWaterMark: 0 },
    );
    const settle = (s: typeof state) => {
      if (state === "open") state = s;
      wake?.();
    };
    const out: Output = {
      stream,
      push: (data) => {
        if (discarding) grant(data.length);
        else {
          queue.push(data);
          wake?.();
        }
      },
      end: () => settle("ended"),
      fail: (error) => settle({ error }),
    };
    this.#outputs.push(out);
    return out;
  }

  /** Ends the stream successfully: outputs end, nothing more is sent. */
  finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#sendWindow.close();
    for (const o of this.#outputs) o.end();
    this.#drop();
    this.#onEnd();
  }

  fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#sendWindow.close();
    for (const o of this.#outputs) o.fail(error);
    this.#drop();
    this.#onEnd(error);
  }

  /**
   * The stream is over, so nothing more can arrive: drop the socket now. Waiting for a clean close
   * would hold the process for ws's 30 s close timeout, because workerd does not end the TCP connection
   * after the closing handshake.
   */
  #drop(): void {
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.terminate();
  }

  close(): void {
    this.#ws.close(1000);
  }

  #grant(bytes: number): void {
    const back = this.#receiveWindow.consumed(bytes);
    if (back > 0) this.send({ t: "credit", bytes: back });
  }

  /** The control plane broke the protocol: end the stream with why, and tell it so. */
  #breach(error: OutpostStreamError): void {
    this.fail(error);
    this.#ws.close(4400);
  }

  #message(data: Buffer): void {
    let frame: ServerToClient;
    try {
      frame = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      this.#breach(
        new OutpostStreamError("bad_frame", `the control plane sent a bad frame: ${(e as Error).message}`),
      );
      return;
    }
    if (frame.t === "stdout" || frame.t === "stderr" || frame.t === "data") {
      // The HostDO enforces our credit too; this bounds what we queue whoever broke it.
      try {
        this.#receiveWindow.receive(frame.data.length, frame.t);
      } catch (e) {
        this.#breach(new OutpostStreamError("credit_exceeded", (e as Error).message));
        return;
      }
    }
    if (frame.t === "error") this.fail(new OutpostStreamError(frame.code, frame.message));
    else this.#onFrame(frame);
  }
}

/** A promise with its resolvers, for results that arrive by frame. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Reads a whole stream into one buffer, refusing more than `limit` bytes. */
export async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit)
      throw new RangeError(`output exceeds ${limit} bytes: use the streaming API for large output`);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * Whether masking this client's frames protects nobody: over TLS no intermediary can read them, and on
 * loopback there is none. Masking (RFC 6455 §10.3) stops a hostile page from shaping bytes that a
 * plain-HTTP proxy on the way would take for a request of its own; it cost the CLI a third of its CPU
 * relaying bulk data (a pass over every byte in JavaScript, and a copy). ws sends frames with an
 * all-zero key as they are, so the key stays in the header as the protocol requires.
 */
export function _maskingPointless(url: URL): boolean {
  if (url.protocol === "wss:" || url.protocol === "https:") return true;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function _zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}
