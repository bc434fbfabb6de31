// The client streams of one HostDO: each is a hibernatable client WebSocket tagged with its stream id,
// whose attachment (attachments.ts) is the stream's record. The table allocates stream ids, finds a
// stream's socket for a frame from the agent, and ends streams: one, every stream of an agent
// connection that went away, or every stream an actor opened (its key was revoked).

import { encodeStreamFrame, type ServerToClient } from "../../../schema/protocol/client-frames.ts";
import { CloseCode, closeReasonFor, ProtocolError } from "../../../schema/protocol/index.ts";
import type { AgentLink } from "./agent-link.ts";
import { type AgentAttachment, type Attachments, type ClientAttachment, STREAM_TAG } from "./attachments.ts";
import { CREDIT_EXCEEDED } from "./credit.ts";
import type { HostRecords } from "./host-record.ts";
import type { SessionEnd, SessionLog, SessionStart } from "./session-log.ts";

export class StreamTable {
  /**
   * The streams' client sockets, remembered while this object is in memory (a cache, like the link's
   * ready agent): checked on every use, looked up again when stale, empty after hibernation.
   */
  readonly #seen = new Map<number, WebSocket>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly att: Attachments,
    private readonly log: SessionLog,
    private readonly hosts: HostRecords,
    /** Only the ready agent and sending to it: what ending a stream tells the host. */
    private readonly link: Pick<AgentLink, "ready" | "send">,
    /** Told of every stream that ends (the object hands it to the stream's kind). */
    private readonly onEnd: (c: ClientAttachment) => void = () => {},
  ) {}

  /**
   * The next stream id on `agent`'s connection: odd ids are the control plane's (frames.ts), never
   * reused on a connection. Kept in the socket's attachment, so no storage write delays the stream.
   */
  nextSid(agent: WebSocket): number {
    return this.att.update<AgentAttachment>(agent, (x) => {
      x.lastSid = (x.lastSid ?? -1) + 2;
    }).lastSid!;
  }

  /** Takes a new stream's client socket into the table and records the session's start. */
  add(server: WebSocket, c: ClientAttachment, start: SessionStart): void {
    this.ctx.acceptWebSocket(server, ["client", STREAM_TAG(c.sid)]);
    this.att.create(server, c);
    this.log.start(c, start);
  }

  /** The live client socket of stream `sid`, if any. */
  client(sid: number): WebSocket | undefined {
    const seen = this.#seen.get(sid);
    if (seen?.readyState === WebSocket.OPEN && !(this.att.get(seen) as ClientAttachment).done) return seen;
    const found = this.ctx
      .getWebSockets(STREAM_TAG(sid))
      .find((ws) => !(this.att.get(ws) as ClientAttachment).done);
    if (found === undefined) this.#seen.delete(sid);
    else this.#seen.set(sid, found);
    return found;
  }

  send(ws: WebSocket, frame: ServerToClient): void {
    try {
      ws.send(encodeStreamFrame(frame));
    } catch {
      // The client is gone; its close event ends the stream.
    }
  }

  /** The ready agent, when it is still the connection stream `c` runs on. */
  agentOf(c: ClientAttachment): WebSocket | undefined {
    const agent = this.link.ready();
    return agent && (this.att.get(agent) as AgentAttachment).conn === c.conn ? agent : undefined;
  }

  /** Marks the stream done at once and records its end in the background, after its start. */
  end(ws: WebSocket, end: SessionEnd): void {
    const c = this.att.get(ws) as ClientAttachment;
    if (c.done) return;
    this.att.update<ClientAttachment>(ws, (x) => {
      x.done = true;
    });
    this.#seen.delete(c.sid);
    this.log.end(c, end);
    this.onEnd(c);
  }

  /** Ends a stream that completed: both sides are done with it. */
  finish(ws: WebSocket, end: SessionEnd, why: string): void {
    this.end(ws, end);
    ws.close(1000, why);
  }

  /** The client went away or misbehaved: stop the stream on the host and record the end. */
  abort(ws: WebSocket, c: ClientAttachment, reason: string): void {
    if (c.done) return;
    const agent = this.agentOf(c);
    if (agent) this.link.send(agent, { t: "close", sid: c.sid, reason });
    this.end(ws, { exitCode: null, signal: null, reason });
  }

  /** The client sent what its stream does not take: it ends, as malformed. */
  refuse(ws: WebSocket, c: ClientAttachment, message: string): void {
    this.send(ws, { t: "error", code: "bad_frame", message });
    this.abort(ws, c, message);
    ws.close(CloseCode.MALFORMED, message.slice(0, 120));
  }

  /**
   * A side sent beyond the credit the other granted: that stream ends (4413, close-codes.ts), its data
   * is dropped and the agent is told to stop it; the agent's connection and other streams go on.
   */
  creditBreach(client: WebSocket, c: ClientAttachment, message: string, by: "host" | "client"): void {
    this.send(client, { t: "error", code: CREDIT_EXCEEDED, message });
    this.abort(client, c, message);
    try {
      client.close(CloseCode.TOO_BIG, closeReasonFor(new ProtocolError("too_big", message)));
    } catch {}
    if (by === "host") {
      this.log.background(
        "audit of a credit breach",
        this.log.denied(c.tenantId, this.hosts.loaded?.id ?? "unknown", "agent.protocol_error", message, {
          close: CloseCode.TOO_BIG,
          session: c.session,
        }),
      );
    }
  }

  /** The agent connection `conn` is gone: every stream that ran on it ends, saying why. */
  endAll(conn: string, why: string): void {
    for (const client of this.ctx.getWebSockets("client")) {
      const c = this.att.get(client) as ClientAttachment;
      if (c.conn !== conn || c.done) continue;
      this.send(client, { t: "error", code: "host_disconnected", message: why });
      this.end(client, { exitCode: null, signal: null, reason: why });
      try {
        client.close(1011, "host disconnected");
      } catch {}
    }
  }

  /** Ends every live stream `actor` opened here (its API key was revoked), saying why. */
  endOf(actor: string, reason: string): void {
    for (const client of this.ctx.getWebSockets("client")) {
      const c = this.att.get(client) as ClientAttachment;
      if (c.actor !== actor || c.done) continue;
      this.send(client, { t: "error", code: "revoked", message: reason });
      this.abort(client, c, reason);
      try {
        client.close(CloseCode.REVOKED, reason.slice(0, 120));
      } catch {}
    }
  }
}
