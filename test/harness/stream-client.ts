// A hand-driven stream client (exec / tcp over the client WebSocket, schema/protocol/client-frames.ts) for tests that
// need what the SDK never does: extra upgrade headers, credit never given back, data beyond credit.
import WebSocket from "ws";
import {
  type ClientToServer,
  decodeServerFrame,
  encodeStreamFrame,
  type ServerToClient,
} from "../../schema/protocol/client-frames.ts";
import { type ExecSpec, encodeExecSpec } from "../../schema/protocol/exec-spec.ts";

export class RawStream {
  readonly frames: ServerToClient[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  #waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      this.frames.push(decodeServerFrame(new Uint8Array(data)));
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.opened = new Promise((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    this.opened.catch(() => {}); // a test that only awaits frames or the close still sees a refusal
    ws.on("error", () => {});
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.#waiters.splice(0)) wake();
      }),
    );
  }

  /** Opens `/v1/hosts/<host>/<path>` with `token` and any extra upgrade `headers`; does not wait. */
  static open(url: string, token: string, path: string, headers: Record<string, string> = {}): RawStream {
    // closeTimeout (ws ≥ 8.18, not in its types yet): after the close frames crossed, workerd may keep
    // the TCP connection open, and ws waits this long (30 s by default) to report the server's code.
    const options: WebSocket.ClientOptions & { closeTimeout: number } = {
      headers: { ...headers, authorization: `Bearer ${token}` },
      closeTimeout: 500,
    };
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/hosts/${path}`, options);
    return new RawStream(ws);
  }

  static exec(url: string, token: string, host: string, spec: ExecSpec, headers?: Record<string, string>) {
    return RawStream.open(url, token, `${host}/exec?spec=${encodeExecSpec(spec)}`, headers);
  }

  send(frame: ClientToServer): void {
    this.ws.send(encodeStreamFrame(frame));
  }

  /** The first frame of type `t` received so far or next; throws if the socket closes first. */
  async frame<T extends ServerToClient["t"]>(t: T): Promise<Extract<ServerToClient, { t: T }>> {
    for (;;) {
      const hit = this.frames.find((f) => f.t === t);
      if (hit) return hit as Extract<ServerToClient, { t: T }>;
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`closed before ${t}; got ${JSON.stringify(this.frames.map((f) => f.t))}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}
