// One TCP stream from the Worker to a service on a host, through the host's Durable Object: the same
// `/tcp` WebSocket and frames (schema/protocol/client-frames.ts) that the SDK and mesh streams use, so the host's own
// policy decides what it may reach and the stream is a recorded session. Flow control is credit based
// both ways: `read()` hands back credit as the caller consumes, `write()` waits for the host's credit.

import {
  decodeServerFrame,
  encodeStreamFrame,
  type ServerToClient,
} from "../../schema/protocol/client-frames.ts";
import { MAX_CHUNK_BYTES } from "../../schema/protocol/limits.ts";
import type { Bindings } from "../env.ts";
import { ApiError } from "../http/api-error.ts";

/** What the Worker lets a host send ahead of the reader: bounds the Worker's memory per request. */
const WINDOW = 1024 * 1024;
const CREDIT_BATCH = WINDOW / 4;

export interface StreamRequest {
  hostId: string;
  hostName: string;
  target: string;
  tenantId: string;
  /** Who the session is recorded for: `key:<id>`, `link:<exposure>`, `public:<exposure>`. */
  actor: string;
}

/** The host refused, or the stream broke: a 502 with the host's reason. */
export class StreamBroken extends ApiError {
  constructor(code: string, message: string) {
    super(502, code, message);
  }
}

export class HostStream {
  readonly #ws: WebSocket;
  #queue: Uint8Array[] = [];
  #opened = false;
  #finReceived = false;
  /** Why the stream can carry nothing more; set when it closes or breaks. */
  #broken: StreamBroken | undefined;
  /** Whoever waits for a frame: a reader and a writer may wait at once. */
  #waiters: (() => void)[] = [];
  #sendCredit = 0;
  /**
   * What the host may still send: WINDOW less what arrived, plus what was granted back. Data beyond it
   * breaks the stream instead of joining the queue, so the queue never holds more than WINDOW bytes.
   */
  #recvCredit = WINDOW;
  #unacked = 0;
  #finSent = false;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (e) => this.#message(e.data));
    ws.addEventListener("close", (e) => this.#fail("stream_closed", `the host's stream closed (${e.code})`));
    ws.addEventListener("error", () => this.#fail("stream_closed", "the host's stream failed"));
  }

  /** Opens the stream and waits until the host has connected to the target. */
  static async open(env: Bindings, req: StreamRequest): Promise<HostStream> {
    const stub = env.HOST.get(env.HOST.idFromName(req.hostId));
    const res = await stub.fetch("https://host.internal/tcp", {
      headers: {
        upgrade: "websocket",
        "x-outpost-target": req.target,
        "x-outpost-credit": String(WINDOW),
        "x-outpost-tenant": req.tenantId,
        "x-outpost-actor": req.actor,
        "x-outpost-host-name": req.hostName,
      },
    });
    const ws = res.webSocket;
    if (!ws) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new StreamBroken(
        body.error?.code ?? "host_unreachable",
        body.error?.message ?? `${req.hostName} refused the stream (${res.status})`,
      );
    }
    // Sockets from fetch() deliver Blobs unless asked; frames are decoded synchronously, in order.
    ws.binaryType = "arraybuffer";
    ws.accept();
    const stream = new HostStream(ws);
    await stream.#until(() => stream.#opened || stream.#broken !== undefined);
    if (!stream.#opened) throw stream.#broken;
    return stream;
  }

  /** The next bytes from the target, or null once it sent fin. Throws StreamBroken if it broke. */
  async read(): Promise<Uint8Array | null> {
    await this.#until(() => this.#queue.length > 0 || this.#finReceived || this.#broken !== undefined);
    const next = this.#queue.shift();
    if (next) {
      this.#grant(next.length);
      return next;
    }
    if (this.#finReceived) return null;
    throw this.#broken;
  }

  /** Sends `data`, never beyond the credit the host granted. */
  async write(data: Uint8Array): Promise<void> {
    for (let off = 0; off < data.length; ) {
      await this.#until(() => this.#sendCredit > 0 || this.#broken !== undefined);
      if (this.#broken) throw this.#broken;
      const n = Math.min(this.#sendCredit, MAX_CHUNK_BYTES, data.length - off);
      this.#send({ t: "data", data: data.subarray(off, off + n) });
      this.#sendCredit -= n;
      off += n;
    }
  }

  /** No more bytes to the target (half close); its replies keep coming. */
  fin(): void {
    if (this.#finSent) return;
    this.#finSent = true;
    this.#send({ t: "fin" });
  }

  /** Drops the stream both ways. */
  close(): void {
    this.#fail("stream_closed", "closed by the proxy");
    try {
      this.#ws.close(1000, "done");
    } catch {}
  }

  #send(frame: Parameters<typeof encodeStreamFrame>[0]): void {
    try {
      this.#ws.send(encodeStreamFrame(frame));
    } catch {
      this.#fail("stream_closed", "the host's stream is gone");
    }
  }

  #grant(bytes: number): void {
    this.#unacked += bytes;
    if (this.#unacked >= CREDIT_BATCH) {
      this.#send({ t: "credit", bytes: this.#unacked });
      this.#recvCredit += this.#unacked;
      this.#unacked = 0;
    }
  }

  #message(data: unknown): void {
    let frame: ServerToClient;
    try {
      frame = decodeServerFrame(new Uint8Array(data as ArrayBuffer));
    } catch (err) {
      this.#fail("bad_frame", `the relay sent a bad frame: ${(err as Error).message}`);
      return;
    }
    switch (frame.t) {
      case "opened":
        this.#sendCredit += frame.credit;
        this.#opened = true;
        break;
      case "credit":
        this.#sendCredit += frame.bytes;
        break;
      case "data":
        if (frame.data.length > this.#recvCredit) {
          // The HostDO enforces credit too; this bounds the queue whoever broke it.
          this.#fail(
            "credit_exceeded",
            `the host sent ${frame.data.length} bytes beyond the ${this.#recvCredit} bytes of credit left`,
          );
          this.close();
          return;
        }
        this.#recvCredit -= frame.data.length;
        this.#queue.push(frame.data);
        break;
      case "fin":
        this.#finReceived = true;
        break;
      case "error":
        this.#fail(frame.code, frame.message);
        return;
      default:
        return;
    }
    this.#wakeAll();
  }

  #fail(code: string, message: string): void {
    this.#broken ??= new StreamBroken(code, message);
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}
