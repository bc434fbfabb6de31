// A Durable Object holding a real StreamTable over real hibernatable sockets: `?agent=<conn>` accepts
// an agent socket (ready, as after its hello), `?client=<conn>&actor=<a>` a stream's client socket with
// the next stream id of that connection's agent. The agent link is a RecordingLink, a fake named so:
// the real one seals frames with the control plane's key, which this test is not about; it records
// what the table would have told the agent. The database behind the session log is absent (its end
// writes fail in the background and are logged, as when libSQL is down).
import { DurableObject } from "cloudflare:workers";
import { newId } from "../../schema/ids.ts";
import type { Database } from "../../worker/db/database.ts";
import type { Outgoing } from "../../worker/durable/host/agent-link.ts";
import {
  type AgentAttachment,
  Attachments,
  type ClientAttachment,
  STREAM_TAG,
} from "../../worker/durable/host/attachments.ts";
import { HostRecords } from "../../worker/durable/host/host-record.ts";
import { SessionLog } from "../../worker/durable/host/session-log.ts";
import { StreamTable } from "../../worker/durable/host/stream-table.ts";

const noDatabase = (): Database => {
  throw new Error("no database in this fixture");
};

/** What the table sends to the agent, recorded instead of sealed. */
class RecordingLink {
  readonly sent: Outgoing[] = [];
  constructor(private readonly ctx: DurableObjectState) {}
  ready(): WebSocket | undefined {
    return this.ctx.getWebSockets("agent")[0];
  }
  send(_ws: WebSocket, frame: Outgoing): void {
    this.sent.push(frame);
  }
}

export class StreamTableFixture extends DurableObject {
  readonly #att = new Attachments();
  readonly #link = new RecordingLink(this.ctx);
  readonly #table = new StreamTable(
    this.ctx,
    this.#att,
    new SessionLog(this.ctx, noDatabase),
    new HostRecords(this.ctx.storage, noDatabase),
    this.#link,
  );

  override fetch(request: Request): Response {
    const url = new URL(request.url);
    const pair = new WebSocketPair();
    const conn = (url.searchParams.get("agent") ?? url.searchParams.get("client")) as AgentAttachment["conn"];
    if (url.searchParams.has("agent")) {
      this.ctx.acceptWebSocket(pair[1], ["agent"]);
      this.#att.create(pair[1], {
        role: "agent",
        conn,
        nonce: "",
        phase: "ready",
        in: 0,
        out: 0,
        since: 0,
        seen: 0,
      });
    } else {
      const agent = this.ctx
        .getWebSockets("agent")
        .find((ws) => (this.#att.get(ws) as AgentAttachment).conn === conn)!;
      const c: ClientAttachment = {
        role: "client",
        kind: "tcp",
        sid: this.#table.nextSid(agent),
        conn,
        session: newId("session"),
        tenantId: newId("tenant"),
        actor: url.searchParams.get("actor") ?? "key:fixture",
        in: 0,
        out: 0,
        credit: 0,
        peerCredit: 0,
        done: false,
      };
      // As StreamTable.add does, without its session row (no database here).
      this.ctx.acceptWebSocket(pair[1], ["client", STREAM_TAG(c.sid)]);
      this.#att.create(pair[1], c);
    }
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    ws.close(code === 1005 ? 1000 : code, reason);
  }

  /** Each stream's id, connection and whether it ended; `found`: the table finds its socket by id. */
  streams(): Array<{ sid: number; conn: string; done: boolean; found: boolean }> {
    return this.ctx.getWebSockets("client").map((ws) => {
      const { sid, conn, done } = this.#att.get(ws) as ClientAttachment;
      return { sid, conn, done, found: this.#table.client(sid) === ws };
    });
  }

  endAll(conn: string, why: string): void {
    this.#table.endAll(conn, why);
  }

  endOf(actor: string, reason: string): void {
    this.#table.endOf(actor, reason);
  }

  /** The close frames the table sent to the agent. */
  toAgent(): Outgoing[] {
    return this.#link.sent;
  }
}
