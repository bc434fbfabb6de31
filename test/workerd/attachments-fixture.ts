// A Durable Object that keeps one counter per WebSocket in an Attachments, as the HostDO keeps its
// sockets' records: each message moves the counter on and answers with it. RPC methods show what the
// platform has stored for each socket (what a new object would read after hibernation).
import { DurableObject } from "cloudflare:workers";
import { type AgentAttachment, Attachments } from "../../worker/durable/host/attachments.ts";

const record = (): AgentAttachment => ({
  role: "agent",
  conn: "conn_fixture" as AgentAttachment["conn"],
  nonce: "",
  phase: "ready",
  in: 0,
  out: 0,
  since: 0,
  seen: 0,
});

export class AttachmentsFixture extends DurableObject {
  readonly #att = new Attachments();

  override fetch(): Response {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    this.#att.create(pair[1], record());
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override webSocketMessage(ws: WebSocket): void {
    const a = this.#att.update<AgentAttachment>(ws, (x) => {
      x.out += 1;
    });
    ws.send(String(a.out));
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    ws.close(code === 1005 ? 1000 : code, reason);
  }

  /** Each open socket's counter as the platform stores it (deserializeAttachment, not the cache). */
  stored(): number[] {
    return this.ctx.getWebSockets().map((ws) => (ws.deserializeAttachment() as AgentAttachment).out);
  }

  /** Each open socket's counter as a fresh Attachments (a woken object) reads it. */
  readAfresh(): number[] {
    const fresh = new Attachments();
    return this.ctx.getWebSockets().map((ws) => (fresh.get(ws) as AgentAttachment).out);
  }
}
