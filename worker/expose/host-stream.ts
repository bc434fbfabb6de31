// One TCP stream from the Worker to a service on a host, through the host's Durable Object: the same
// `/tcp` WebSocket and frames (schema/protocol/client-frames.ts) that the SDK and mesh streams use, so the host's own
// policy decides what it may reach and the stream is a recorded session. Flow control is credit based
// both ways: `read()` hands back credit as the caller consumes, `write()` waits for the host's credit.

import type { TenantId } from "../../schema/ids.ts";
import {
  decodeServerFrame,
  encodeStreamFrame,
  type ServerToClient,
} from "../../schema/protocol/client-frames.ts";
import { ReceiveWindow, SendWindow } from "../../schema/protocol/index.ts";
import { openOnHost } from "../durable/stubs.ts";
import type { Bindings } from "../env.ts";
import { ApiError } from "../http/api-error.ts";

/** What the Worker lets a host send ahead of the reader: bounds the Worker's memory per request. */
const WINDOW = 1024 * 1024;

export interface StreamRequest {
  hostId: string;
  hostName: string;
  target: string;
  tenantId: TenantId;
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
  /** The host's credit for what we write. */
  readonly #send = new SendWindow();
  /**
   * What the host may still send: WINDOW less what arrived, granted back a quarter window at a time as
   * the reader consumes. Data beyond it breaks the stream instead of joining the queue, so the queue
   * never holds more than WINDOW bytes.
   */
  readonly #receive = ReceiveWindow.quarter(WINDOW, { grantor: "the proxy granted" });
  #finSent = false;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (e) => this.#message(e.data));
    ws.addEventListener("close", (e) => this.#fail("stream_closed", `the host's stream closed (${e.code})`));
    ws.addEventListener("error", () => this.#fail("stream_closed", "the host's stream failed"));
  }

  /** Opens the stream and waits until the host has connected to the target. */
  static async open(env: Bindings, req: StreamRequest): Promise<HostStream> {
    const res = await openOnHost(env, req.hostId, {
      kind: "tcp",
      target: req.target,
      credit: WINDOW,
      tenantId: req.tenantId,
      actor: req.actor,
      hostName: req.hostName,
      via: "exposure",
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
    if (this.#broken) throw this.#broken;
    await this.#send.send(data, (chunk) => this.#frame({ t: "data", data: chunk }));
  }

  /** No more bytes to the target (half close); its replies keep coming. */
  fin(): void {
    if (this.#finSent) return;
    this.#finSent = true;
    this.#frame({ t: "fin" });
  }

  /** Drops the stream both ways. */
  close(): void {
    this.#fail("stream_closed", "closed by the proxy");
    try {
      this.#ws.close(1000, "done");
    } catch {}
  }

  #frame(frame: Parameters<typeof encodeStreamFrame>[0]): void {
    try {
      this.#ws.send(encodeStreamFrame(frame));
    } catch {
      this.#fail("stream_closed", "the host's stream is gone");
    }
  }

  #grant(bytes: number): void {
    const back = this.#receive.consumed(bytes);
    if (back > 0) this.#frame({ t: "credit", bytes: back });
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
      case "credit":
        try {
          this.#send.grant(frame.t === "opened" ? frame.credit : frame.bytes);
        } catch (err) {
          this.#fail("bad_frame", `the relay sent a bad grant: ${(err as Error).message}`);
          this.close();
          return;
        }
        if (frame.t === "opened") this.#opened = true;
        break;
      case "data":
        try {
          this.#receive.receive(frame.data.length, "the host's data");
        } catch (err) {
          // The HostDO enforces credit too; this bounds the queue whoever broke it.
          this.#fail("credit_exceeded", (err as Error).message);
          this.close();
          return;
        }
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
    this.#send.close(this.#broken);
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}
