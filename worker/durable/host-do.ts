// HostDO — one Durable Object per host: the platform's entry points and nothing else. Each hands its
// event to a module under host/: the agent link (handshake, seal/open, sequence, send order), liveness
// (alarm deadlines, last_seen), the stream table (ids, client sockets, ending streams), the session log,
// and the stream kinds (host/kinds/, one module per kind in one table). Everything that must outlive an
// eviction is in socket attachments or storage (host/attachments.ts); fields are caches and queues.
import { DurableObject } from "cloudflare:workers";
import { type JobId, newId } from "../../schema/ids.ts";
import { decodeClientFrame } from "../../schema/protocol/client-frames.ts";
import {
  type AgentFrame,
  CloseCode,
  closeCodeFor,
  closeReasonFor,
  ProtocolError,
  VMS_CAPABILITY,
  WORKLOADS_CAPABILITY,
} from "../../schema/protocol/index.ts";
import { DEFAULT_STREAM_CREDIT, MAX_STREAM_CREDIT, MIN_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import { type Database, openDatabase } from "../db/database.ts";
import type { Bindings } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { AgentLink } from "./host/agent-link.ts";
import { AgentReports, type StoredReport } from "./host/agent-reports.ts";
import {
  type AgentAttachment,
  type Attachment,
  Attachments,
  type ClientAttachment,
  type HostRecord,
} from "./host/attachments.ts";
import { HostRecords } from "./host/host-record.ts";
import { JobDelivery } from "./host/job-delivery.ts";
import {
  allKinds,
  type ClientRequest,
  openClientStream,
  openedByAgent,
  type StreamKinds,
  streamKinds,
} from "./host/kinds/index.ts";
import { Liveness } from "./host/liveness.ts";
import { SessionLog } from "./host/session-log.ts";
import { askedCredit, decodeStreamRequest } from "./host/stream-request.ts";
import { StreamTable } from "./host/stream-table.ts";
import { desiredVms, recordVmStatus } from "./host/vm-workloads.ts";
import { desiredWorkloads, recordStatus } from "./host/workloads.ts";

/** A socket's identity across events: its connection id (agent) or stream id (client). */
function socketKey(a: Attachment): string {
  return a.role === "agent" ? a.conn : `sid:${a.sid}:${a.conn}`;
}

export class HostDO extends DurableObject<Bindings> {
  readonly #att = new Attachments();
  /** Per-socket queues: one socket's frames are handled one at a time, in order. */
  readonly #inbound = new Map<string, Promise<void>>();
  #db: Database | undefined;
  readonly #database = (): Database => {
    this.#db ??= openDatabase(this.env);
    return this.#db;
  };
  readonly #hosts = new HostRecords(this.ctx.storage, this.#database);
  readonly #log = new SessionLog(this.ctx, this.#database);
  readonly #liveness = new Liveness(this.ctx, this.env, this.#att, this.#database, this.#log);
  readonly #link = new AgentLink(
    this.ctx,
    this.env,
    this.#att,
    this.#database,
    this.#hosts,
    this.#log,
    this.#liveness,
    {
      frame: (ws, host, frame) => this.#onAgentFrame(ws, host, frame),
      ready: async (ws) => {
        await this.#pushConfig(ws);
        await this.#pushWorkloads(ws);
        const host = await this.#hosts.get();
        if (host) await this.#jobs.deliver(ws, host);
      },
      gone: (ws, a, why, markOffline) => this.#agentGone(ws, a, why, markOffline),
    },
  );
  readonly #jobs = new JobDelivery(this.#database, this.#link, this.#att);
  readonly #reports = new AgentReports(this.ctx.storage);
  readonly #streams = new StreamTable(this.ctx, this.#att, this.#log, this.#hosts, this.#link, (c) => {
    const kind: { ended?(c: ClientAttachment): void } = this.#kinds.client[c.kind];
    kind.ended?.(c);
  });
  readonly #kinds: StreamKinds = streamKinds({
    env: this.env,
    link: this.#link,
    streams: this.#streams,
    att: this.#att,
    background: (what, work) => this.#log.background(what, work),
  });

  // ## Entry points

  /** WebSocket upgrades only (host/stream-request.ts): an agent connecting, a client opening a stream. */
  override async fetch(request: Request): Promise<Response> {
    try {
      const req = decodeStreamRequest(request);
      return req.kind === "agent" ? await this.#link.accept(req.hostId) : await this.#openStream(req);
    } catch (err) {
      if (err instanceof ApiError) return err.toResponse();
      console.error("HostDO fetch failed", err);
      return new ApiError(500, "internal", "the host's relay failed; try again").toResponse();
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const a = this.#att.get(ws);
    if (a.role === "agent") this.#liveness.arrived(a.conn);
    const key = socketKey(a);
    const previous = this.#inbound.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#dispatch(ws, message));
    this.#inbound.set(key, next);
    try {
      await next;
    } finally {
      if (this.#inbound.get(key) === next) this.#inbound.delete(key);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.#closed(ws, code, reason || "closed by peer");
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.#closed(
      ws,
      CloseCode.INTERNAL_ERROR,
      `socket error: ${error instanceof Error ? error.message : error}`,
    );
  }

  /** Handshake deadlines and heartbeat liveness of the agent sockets (host/liveness.ts). */
  override async alarm(): Promise<void> {
    await this.#liveness.alarm(await this.#hosts.get(), (ws, code, why) => this.#link.close(ws, code, why));
  }

  // ## RPC (typed calls from the Worker and the ClusterDO)

  /** Sends the ready agent its config again (the cluster's registry changed); whether one was ready. */
  async pushConfig(): Promise<{ pushed: boolean }> {
    const agent = this.#link.ready();
    if (agent) await this.#pushConfig(agent);
    return { pushed: agent !== undefined };
  }

  /**
   * The agent's latest report of its effective view (frames.ts `report`), kept in storage so it
   * survives eviction; with `after` (a report's `n`, 0 for none), waits up to `waitMs` (at most 5 s)
   * for a newer one.
   */
  async report(opts: { after?: number; waitMs?: number } = {}): Promise<StoredReport | null> {
    return (await this.#reports.latest(opts.after, Math.min(opts.waitMs ?? 0, 5000))) ?? null;
  }

  /** Sends the ready agent its workloads again (a route changed them); whether one was ready. */
  async pushWorkloads(): Promise<{ pushed: boolean }> {
    const agent = this.#link.ready();
    if (agent) await this.#pushWorkloads(agent);
    return { pushed: agent !== undefined };
  }

  /** Sends the ready agent its jobs without a result (one was just created); how many went. */
  async deliverJobs(): Promise<{ sent: number }> {
    const agent = this.#link.ready();
    const host = await this.#hosts.get();
    return { sent: agent && host ? await this.#jobs.deliver(agent, host) : 0 };
  }

  /** Tells the ready agent to stop `job`; whether one was there to tell. */
  async cancelJob(job: JobId): Promise<{ told: boolean }> {
    const agent = this.#link.ready();
    return { told: agent ? this.#jobs.cancel(agent, job) : false };
  }

  /** Drops the agent's connection; a revoked or deleted host is refused from then on. */
  async disconnect(reason: "revoked" | "deleted"): Promise<void> {
    await this.#hosts.markGone(reason);
    for (const ws of this.ctx.getWebSockets("agent")) {
      await this.#link.close(ws, CloseCode.REVOKED, `host ${reason}`, { markOffline: false });
    }
  }

  /** Ends every live stream `actor` opened here (its API key was revoked), saying why. */
  async endStreams(actor: string, reason: string): Promise<void> {
    this.#streams.endOf(actor, reason);
  }

  // ## Dispatch

  async #dispatch(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      const a = this.#att.get(ws);
      if (a.role === "agent") await this.#link.receive(ws, a, message);
      else this.#onClientMessage(ws, a, message);
    } catch (err) {
      // Never let one socket's trouble take the object down.
      console.error("HostDO message handling failed", err);
      try {
        ws.close(CloseCode.INTERNAL_ERROR, "internal error");
      } catch {}
    }
  }

  /** A checked frame from the ready agent: the link's own, an open, or a stream's (by the kind table). */
  async #onAgentFrame(ws: WebSocket, host: HostRecord, frame: AgentFrame): Promise<void> {
    switch (frame.t) {
      case "ping":
        return this.#link.send(ws, { t: "pong", time: frame.time });
      case "pong":
        return;
      case "hello":
        throw new ProtocolError("unexpected_frame", "Cannot accept hello: the handshake is already done");
      case "tcp.open":
        return this.#kinds.mesh.open({ host, frame }); // not awaited: see MeshKind.open
      case "report":
        return this.#reports.save(frame.report);
      case "workload.status":
        if (await recordVmStatus(this.#database(), host.id, frame)) return;
        return recordStatus(this.#database(), host.id, frame);
      case "job.result":
        return this.#jobs.result(host, frame);
    }
    if (frame.sid === undefined) return;
    if (openedByAgent(frame.sid)) return this.#kinds.mesh.fromAgent(frame);
    const client = this.#streams.client(frame.sid);
    if (!client) {
      // Data for a stream whose client went: the agent stops sending it.
      if (frame.t === "stdout" || frame.t === "stderr" || frame.t === "data" || frame.t === "tcp.opened")
        this.#link.send(ws, { t: "close", sid: frame.sid, reason: "client gone" });
      return;
    }
    const c = this.#att.get(client) as ClientAttachment;
    this.#kinds.client[c.kind].fromAgent(frame, { ws: client, c });
  }

  #onClientMessage(ws: WebSocket, c: ClientAttachment, message: string | ArrayBuffer): void {
    if (c.done) return;
    let frame: ReturnType<typeof decodeClientFrame>;
    try {
      if (typeof message === "string")
        throw new ProtocolError("malformed", "Cannot decode stream frame: text messages are not accepted");
      frame = decodeClientFrame(new Uint8Array(message));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.#streams.send(ws, { t: "error", code: "bad_frame", message: reason });
      this.#streams.abort(ws, c, reason);
      ws.close(closeCodeFor(err), closeReasonFor(err));
      return;
    }
    const agent = this.#streams.agentOf(c);
    if (!agent) return; // the agent's close handler ends the stream
    this.#kinds.client[c.kind].fromClient({ ws, c }, agent, frame);
  }

  // ## Streams

  /** A client's checked stream request: a new stream id, session and socket, and the kind's open frame. */
  async #openStream(req: ClientRequest): Promise<Response> {
    const agent = this.#link.ready();
    const host = await this.#hosts.get();
    if (!agent || !host) {
      throw new ApiError(
        409,
        "host_offline",
        `${req.hostName} is offline: its agent is not connected (see 'outpost hosts')`,
      );
    }
    // The Worker checked the credit (routes/host-streams.ts, expose/host-stream.ts, kinds/mesh.ts); kept
    // to the documented range here too, since this count is what the agent's data is held to.
    const asked = askedCredit(req) || DEFAULT_STREAM_CREDIT;
    const credit = Math.min(Math.max(asked, MIN_STREAM_CREDIT), MAX_STREAM_CREDIT);
    const sid = this.#streams.nextSid(agent);
    const agentCap = (this.#att.get(agent) as AgentAttachment).cap ?? 0;
    const opened = openClientStream(this.#kinds, { req, sid, credit }, agentCap);
    const fanout = req.kind === "exec" ? req.fanout : undefined;
    const session = fanout?.session ?? newId("session");
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.#streams.add(
      server,
      {
        role: "client",
        kind: req.kind,
        sid,
        conn: (this.#att.get(agent) as AgentAttachment).conn,
        session,
        tenantId: req.tenantId,
        actor: req.actor,
        in: 0,
        out: 0,
        credit,
        peerCredit: 0,
        done: false,
        ...(fanout ? { fanout: true as const } : {}),
        ...(opened.rec ? { rec: opened.rec } : {}),
      },
      { hostId: host.id, ...opened.session },
    );
    this.#streams.send(server, { t: "started", session });
    this.#link.send(agent, opened.frame);
    return new Response(null, { status: 101, webSocket: client });
  }

  // ## The agent's config, and its going

  /**
   * Sends the host its config (frames.ts `config`), as its cluster's registry (ClusterDO) computes it.
   * One the frame's layout refuses is not sent (the link logs why): the agent keeps the last one.
   */
  async #pushConfig(ws: WebSocket): Promise<void> {
    const host = await this.#hosts.get();
    if (!host) return;
    const registry = this.env.CLUSTER.get(this.env.CLUSTER.idFromName(host.clusterId));
    this.#link.send(ws, { t: "config", config: await registry.config(host.clusterId, host.id) });
  }

  /** The host's desired workloads (host/workloads.ts), to an agent of capability ≥ 6 only. */
  async #pushWorkloads(ws: WebSocket): Promise<void> {
    const host = await this.#hosts.get();
    const a = this.#att.get(ws);
    if (!host || a.role !== "agent" || (a.cap ?? 0) < WORKLOADS_CAPABILITY) return;
    const workloads = await desiredWorkloads(this.#database(), host.id);
    // Capability 9: VMs only to an agent that knows the kind (an older one would refuse the frame).
    if ((a.cap ?? 0) >= VMS_CAPABILITY) workloads.push(...(await desiredVms(this.#database(), host.id)));
    this.#link.send(ws, { t: "workloads", workloads });
  }

  /** An agent socket is gone: everything that ran on it ends, and the host is offline if none is left. */
  async #agentGone(ws: WebSocket, a: AgentAttachment, why: string, markOffline: boolean): Promise<void> {
    this.#liveness.forget(a.conn);
    if (a.phase === "ready") for (const kind of allKinds(this.#kinds)) kind.end();
    this.#streams.endAll(a.conn, why);
    const host = await this.#hosts.get();
    if (a.phase === "ready" && host && !this.#link.otherReady(ws) && markOffline) {
      await this.#hosts.wentOffline();
      await this.#liveness.offline(host, a);
    }
  }

  async #closed(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      const a = this.#att.get(ws);
      if (a.role === "agent") await this.#link.gone(ws, a, `host disconnected (${code} ${reason})`);
      else this.#streams.abort(ws, a, "client disconnected");
    } catch (err) {
      console.error("HostDO close handling failed", err);
    }
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason.slice(0, 120));
    } catch {}
  }
}
