// Mesh streams: an agent opens a stream (even sid) naming one of its mesh routes; its HostDO asks the
// cluster's registry where the route goes and opens the far host's TCP stream as a client of that
// host's HostDO, over a Durable-Object-to-Durable-Object WebSocket. From there on frames are relayed
// one to one, credit included, so flow control stays end to end. The far host's own policy decides
// whether the service may be reached; routes never leave their cluster.

//
// The kind table maps the agent's own (even) stream ids here: a mesh stream has no client socket in
// this object (the far host's object is its client), so fromClient has nothing to do.
import { decodeServerFrame, encodeStreamFrame } from "../../../../schema/protocol/client-frames.ts";
import type { TcpOpenFrame } from "../../../../schema/protocol/index.ts";
import { clusterObject, openOnHost } from "../../stubs.ts";
import type { Outgoing } from "../agent-link.ts";
import type { HostRecord } from "../attachments.ts";
import type { AgentStreamFrame, Relay, StreamKind } from "./kind.ts";

export interface MeshOpen {
  host: HostRecord;
  frame: TcpOpenFrame;
}

export class MeshKind implements StreamKind<MeshOpen> {
  /** Open mesh streams by the agent's sid. Plain sockets, not hibernatable: the object stays up while any is open. */
  readonly #peers = new Map<number, WebSocket>();
  /** Which directions have sent fin, per sid: a stream with both is complete and ends without close. */
  readonly #fins = new Map<number, { agent: boolean; peer: boolean }>();
  /** Opens under way, by sid: the agent's frames for such a stream wait for its open, in order. */
  readonly #opening = new Map<number, Promise<void>>();

  constructor(private readonly relay: Relay) {}

  /** Mesh frames go to the ready agent: its streams end with its connection (end). */
  toAgent(frame: Outgoing): void {
    const agent = this.relay.link.ready();
    if (agent) this.relay.link.send(agent, frame);
  }

  /**
   * Opens the far end of a mesh stream. Not to be awaited where the agent's frames are relayed: the
   * answer takes a round trip through two other objects, and every other stream of the host would wait
   * behind it. Frames for this stream that arrive meanwhile wait for it instead (fromAgent).
   */
  open({ host, frame }: MeshOpen): void {
    const opening = this.#open(host, frame)
      .catch((err: unknown) => {
        console.error("HostDO mesh open failed", err);
        this.toAgent({
          t: "close",
          sid: frame.sid,
          reason: "the relay could not open this route; try again",
        });
      })
      .finally(() => this.#opening.delete(frame.sid));
    this.#opening.set(frame.sid, opening);
  }

  async #open(host: HostRecord, frame: TcpOpenFrame): Promise<void> {
    const refuse = (reason: string) => this.toAgent({ t: "close", sid: frame.sid, reason });
    if (typeof frame.target !== "string") return refuse("mesh streams name a route, not a port");
    const found = await clusterObject(this.relay.env, host.clusterId).route(host.clusterId, frame.target);
    if (!found.ok) return refuse(`no mesh route '${frame.target}' in this cluster`);
    const route = found.value;
    if (route.fromHostId !== host.id) return refuse(`mesh route '${route.id}' does not start at this host`);

    const upgrade = await openOnHost(this.relay.env, route.toHostId, {
      kind: "tcp",
      target: route.toService,
      credit: frame.credit,
      tenantId: route.tenantId,
      actor: `host:${host.id}`,
      hostName: route.toName,
      via: "mesh",
    });
    const peer = upgrade.webSocket;
    if (!peer) {
      const body = (await upgrade.json().catch(() => ({}))) as { error?: { message?: string } };
      return refuse(`${route.toName}: ${body.error?.message ?? `refused (${upgrade.status})`}`);
    }
    // A socket from fetch() delivers binary messages as Blobs by default; frames are decoded in order,
    // synchronously, so ask for ArrayBuffers.
    peer.binaryType = "arraybuffer";
    peer.accept();
    this.#peers.set(frame.sid, peer);
    peer.addEventListener("message", (event) => {
      try {
        const f = decodeServerFrame(new Uint8Array(event.data as ArrayBuffer));
        if (f.t === "opened") this.toAgent({ t: "tcp.opened", sid: frame.sid, credit: f.credit });
        else if (f.t === "data") this.toAgent({ t: "data", sid: frame.sid, data: f.data });
        else if (f.t === "credit") this.toAgent({ t: "credit", sid: frame.sid, bytes: f.bytes });
        else if (f.t === "fin") {
          this.toAgent({ t: "fin", sid: frame.sid });
          this.#fin(frame.sid, "peer");
        } else if (f.t === "error") this.#end(frame.sid, `${route.toName}: ${f.message}`);
      } catch (err) {
        this.#end(frame.sid, `relay error: ${err instanceof Error ? err.message : err}`);
      }
    });
    peer.addEventListener("close", () => this.#end(frame.sid, undefined));
  }

  /** A frame from the agent on an even (agent-opened) sid. */
  fromAgent(frame: AgentStreamFrame): void {
    if (frame.t === "data" || frame.t === "credit" || frame.t === "fin" || frame.t === "close") {
      this.#relay(frame);
      return;
    }
    // A stream's first frames from the far side (stdout, tcp.opened) on a sid nobody holds here.
    if (frame.t === "stdout" || frame.t === "stderr" || frame.t === "tcp.opened")
      this.toAgent({ t: "close", sid: frame.sid, reason: "client gone" });
  }

  fromClient(): void {}

  #relay(
    frame:
      | { t: "data"; sid: number; data: Uint8Array }
      | { t: "credit"; sid: number; bytes: number }
      | { t: "fin"; sid: number }
      | { t: "close"; sid: number },
  ): void {
    const opening = this.#opening.get(frame.sid);
    if (opening) {
      // Chained on the open, so this stream's frames keep their order.
      this.#opening.set(
        frame.sid,
        opening.then(() => this.#relay(frame)),
      );
      return;
    }
    const peer = this.#peers.get(frame.sid);
    if (!peer) {
      // A late frame for a stream that just completed needs no answer; others are told it is gone.
      if (frame.t === "data") this.toAgent({ t: "close", sid: frame.sid, reason: "no such stream" });
      return;
    }
    try {
      if (frame.t === "data") peer.send(encodeStreamFrame({ t: "data", data: frame.data }));
      else if (frame.t === "credit") peer.send(encodeStreamFrame({ t: "credit", bytes: frame.bytes }));
      else if (frame.t === "fin") {
        peer.send(encodeStreamFrame({ t: "fin" }));
        this.#fin(frame.sid, "agent");
      } else {
        this.#peers.delete(frame.sid);
        this.#fins.delete(frame.sid);
        peer.close(1000, "closed by the host");
      }
    } catch {
      this.#end(frame.sid, "the far host went away");
    }
  }

  /** The agent connection is gone: drop every mesh stream. */
  end(): void {
    for (const [sid, peer] of this.#peers) {
      this.#peers.delete(sid);
      try {
        peer.close(1001, "host disconnected");
      } catch {}
    }
  }

  /** Records a fin; once both sides sent one the stream is complete: forget it, send no close. */
  #fin(sid: number, side: "agent" | "peer"): void {
    const fins = this.#fins.get(sid) ?? { agent: false, peer: false };
    fins[side] = true;
    this.#fins.set(sid, fins);
    if (!(fins.agent && fins.peer)) return;
    const peer = this.#peers.get(sid);
    this.#peers.delete(sid);
    this.#fins.delete(sid);
    try {
      peer?.close(1000, "done");
    } catch {}
  }

  #end(sid: number, reason: string | undefined): void {
    const peer = this.#peers.get(sid);
    if (!peer) return;
    this.#peers.delete(sid);
    this.#fins.delete(sid);
    try {
      peer.close(1000, "done");
    } catch {}
    this.toAgent({ t: "close", sid, ...(reason ? { reason: reason.slice(0, 1000) } : {}) });
  }
}
