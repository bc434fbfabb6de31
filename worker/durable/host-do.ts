// HostDO — one Durable Object per host. It holds the agent's WebSocket (hibernation API), checks every
// frame the agent sends (signature, connection, direction, sequence), keeps the host's liveness with an
// alarm, and relays exec streams between API clients and the agent without buffering beyond the
// credit each side granted. Everything that must outlive an eviction lives in socket attachments or
// storage (host/attachments.ts); in-memory fields are caches and per-socket ordering queues only.
import { DurableObject } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { hosts, sessions } from "../../schema/db/tables.ts";
import { newId } from "../../schema/ids.ts";
import {
  decodeClientFrame,
  encodeStreamFrame,
  type ServerToClient,
} from "../../schema/protocol/client-frames.ts";
import type { ExecSpec } from "../../schema/protocol/exec-spec.ts";
import {
  type AgentFrame,
  CloseCode,
  type ControlPlaneFrame,
  closeCodeFor,
  closeReasonFor,
  DataKey,
  HANDSHAKE_TIMEOUT_MS,
  type HelloFrame,
  type HostConfig,
  KeyExchange,
  MIN_PEER_CAPABILITY,
  newConnectionId,
  openFrame,
  PROTOCOL_CAPABILITY,
  ProtocolError,
  SequenceWindow,
  type Signer,
  sealFrame,
  Verifier,
} from "../../schema/protocol/index.ts";
import { DEFAULT_STREAM_CREDIT, MAX_STREAM_CREDIT, MIN_STREAM_CREDIT } from "../../schema/protocol/limits.ts";
import type { Bindings } from "../env.ts";
import { audit, auditInsert } from "../lib/audit.ts";
import { controlPlaneSigner } from "../lib/cp-key.ts";
import { type Database, openDatabase } from "../lib/db.ts";
import { heartbeatMs } from "../lib/heartbeat.ts";
import {
  type AgentAttachment,
  type Attachment,
  Attachments,
  type ClientAttachment,
  type HostRecord,
  STREAM_TAG,
} from "./host/attachments.ts";
import { CREDIT_EXCEEDED, overCredit, trimGrant } from "./host/credit.ts";
import { type FailureSample, FailureSampler, SAMPLE_WINDOW_MS } from "./host/failure-sampler.ts";
import { MeshRelay } from "./host/mesh-relay.ts";

/** A frame to send, before the link numbers it. */
type Outgoing = ControlPlaneFrame extends infer F
  ? F extends ControlPlaneFrame
    ? Omit<F, "seq">
    : never
  : never;

/** How often last_seen is written to the database at most, while heartbeats keep arriving. */
const LAST_SEEN_WRITE_MS = 30_000;

/** A socket's identity across events: its connection id (agent) or stream id (client). */
function socketKey(a: Attachment): string {
  return a.role === "agent" ? a.conn : `sid:${a.sid}:${a.conn}`;
}

function json(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Whether `a` was accepted before `b`: by time, then by connection id (ties in one millisecond). */
function _acceptedBefore(a: AgentAttachment, b: AgentAttachment): boolean {
  return a.since < b.since || (a.since === b.since && a.conn < b.conn);
}

export class HostDO extends DurableObject<Bindings> {
  #signer: Promise<Signer> | undefined;
  #verifier: { key: string; verifier: Verifier } | undefined;
  readonly #att = new Attachments();
  /** Per-socket queues: frames are opened one at a time, and sent in the order they were numbered. */
  // Keyed by the socket's identity in its attachment (connection or stream id).
  #inbound = new Map<string, Promise<void>>();
  #outbound = new Map<string, Promise<void>>();
  /** When each agent socket's latest message arrived (before it is opened and checked). */
  #arrivals = new Map<string, number>();
  #db: Database | undefined;
  #mesh: MeshRelay | undefined;
  #hostRecord: HostRecord | undefined;
  /** Data keys imported from agent attachments (a cache: the attachment is the record). */
  #dataKeys = new Map<string, { in: Promise<DataKey>; out: Promise<DataKey> }>();
  /**
   * The ready agent and the streams' client sockets, remembered while this object is in memory, so that
   * relaying a frame is not a getWebSockets() call (about 2% of the object's JS time at 1,000 requests/s).
   * Checked on every use and looked up again when stale; they start empty after hibernation.
   */
  #agentSeen: WebSocket | undefined;
  readonly #clientSeen = new Map<number, WebSocket>();
  /** Failures before a hello is verified, written as sampled audit events (host/failure-sampler.ts). */
  readonly #failures = new FailureSampler();
  /** Until when this object's host id is known not to exist (a cache: spares a read per attempt). */
  #unknownUntil = 0;
  /** Session rows being written, so that a session's end is never written before its start. */
  #sessionWrites = new Map<string, Promise<void>>();

  /** Mesh streams of the ready agent connection (in memory: they hold the object awake). */
  #meshRelay(): MeshRelay {
    this.#mesh ??= new MeshRelay(this.env, (frame) => {
      const agent = this.#readyAgent();
      if (agent) this.#sendAgent(agent, frame);
    });
    return this.#mesh;
  }

  get #database(): Database {
    this.#db ??= openDatabase(this.env);
    return this.#db;
  }

  // ## Entry points

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      switch (url.pathname) {
        case "/agent":
          return await this.#acceptAgent(request);
        case "/exec":
        case "/tcp":
          return await this.#acceptStream(request, url.pathname === "/exec" ? "exec" : "tcp");
        case "/config": {
          const agent = this.#readyAgent();
          if (agent) await this.#pushConfig(agent);
          return Response.json({ pushed: agent !== undefined });
        }
        case "/end-streams":
          this.#endStreamsOf(
            url.searchParams.get("actor") ?? "",
            url.searchParams.get("reason") ?? "revoked",
          );
          return Response.json({ ok: true });
        case "/disconnect":
          await this.#disconnect(url.searchParams.get("reason") ?? "revoked");
          return Response.json({ ok: true });
        default:
          return json(404, "not_found", `no HostDO route ${url.pathname}`);
      }
    } catch (err) {
      console.error("HostDO fetch failed", err);
      return json(500, "internal", "the host's relay failed; try again");
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Liveness counts arrival, not processing: a busy host with frames queued here is not silent.
    const key = socketKey(this.#att.get(ws));
    this.#arrivals.set(key, Date.now());
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

  /** Handshake deadlines and heartbeat liveness of the agent sockets. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const hb = heartbeatMs(this.env);
    const sample = this.#failures.take(now);
    if (sample) await this.#auditSample(sample);
    let next = this.#failures.dueAt() ?? Number.POSITIVE_INFINITY;
    for (const ws of this.ctx.getWebSockets("agent")) {
      const a = this.#att.get(ws) as AgentAttachment;
      const seen = Math.max(a.seen, this.#arrivals.get(a.conn) ?? 0);
      const deadline = a.phase === "challenged" ? a.since + HANDSHAKE_TIMEOUT_MS : seen + 2 * hb;
      if (now < deadline) {
        next = Math.min(next, deadline);
        continue;
      }
      const why = a.phase === "challenged" ? "no hello within the handshake timeout" : "heartbeats stopped";
      await this.#closeAgent(ws, CloseCode.TIMEOUT, why);
    }
    if (next !== Number.POSITIVE_INFINITY) await this.ctx.storage.setAlarm(next);
  }

  // ## Agent connection

  async #acceptAgent(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return json(426, "upgrade_required", "this endpoint takes a WebSocket upgrade");
    }
    const hostId = request.headers.get("x-outpost-host")!;
    const record = await this.#knownHost(hostId);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    if (!record || record.revoked) {
      // Accept only to say why with a close code the agent acts on: it stops reconnecting.
      server.accept();
      server.close(
        CloseCode.REVOKED,
        record ? `host ${record.revoked}: enroll again with a new token` : "unknown host: enroll again",
      );
      if (record) await this.#sampleFailure("agent.connect", `host ${record.revoked}`, CloseCode.REVOKED);
      return new Response(null, { status: 101, webSocket: client });
    }

    const now = Date.now();
    const nonce = crypto.getRandomValues(new Uint8Array(32));
    const conn = newConnectionId();
    this.ctx.acceptWebSocket(server, ["agent"]);
    const a: AgentAttachment = {
      role: "agent",
      conn,
      nonce: toBase64(nonce),
      phase: "challenged",
      in: 0,
      out: 0,
      since: now,
      seen: now,
      dbSeen: 0,
    };
    this.#att.create(server, a);
    const signer = await this.#cpSigner();
    this.#sendAgent(server, {
      t: "challenge",
      nonce,
      time: now,
      conn,
      kid: signer.keyId,
      cap: PROTOCOL_CAPABILITY,
    });
    await this.#ensureAlarm(now + HANDSHAKE_TIMEOUT_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  async #dispatch(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      const a = this.#att.get(ws);
      if (a.role === "agent") await this.#onAgentMessage(ws, a, message);
      else await this.#onClientMessage(ws, a, message);
    } catch (err) {
      // Never let one socket's trouble take the object down.
      console.error("HostDO message handling failed", err);
      try {
        ws.close(CloseCode.INTERNAL_ERROR, "internal error");
      } catch {}
    }
  }

  async #onAgentMessage(ws: WebSocket, a: AgentAttachment, message: string | ArrayBuffer): Promise<void> {
    const host = await this.#host();
    let frame: AgentFrame;
    try {
      if (!host)
        throw new ProtocolError("unknown_key", "Cannot open frame: this object does not know its host");
      if (typeof message === "string")
        throw new ProtocolError("malformed", "Cannot open frame: text messages are not part of the protocol");
      const guard = new SequenceWindow(a.in);
      const dataKey = this.#dataKey(a, "in");
      frame = await openFrame(message, await this.#hostVerifier(host), {
        connectionId: a.conn,
        direction: "agent>cp",
        guard,
        ...(dataKey ? { dataKey: await dataKey } : {}),
      });
      const now = Date.now();
      this.#att.update<AgentAttachment>(ws, (x) => {
        x.in = guard.last;
        x.seen = now;
      });
      if (a.phase === "challenged") {
        if (frame.t !== "hello")
          throw new ProtocolError(
            "unexpected_frame",
            `Cannot accept ${frame.t}: the first frame must be hello`,
          );
        await this.#onHello(ws, host, frame);
        return;
      }
      await this.#onAgentFrame(ws, host, frame);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      const now = this.#att.get(ws) as AgentAttachment;
      if (now.phase === "ready" || now.verified) {
        await this.#auditDenied(
          host?.tenantId ?? null,
          host?.id ?? "unknown",
          "agent.protocol_error",
          err.message,
          { close: closeCodeFor(err) },
        );
      } else {
        // Nobody has proved to be the host yet: counted and sampled, not written one by one.
        await this.#sampleFailure("agent.protocol_error", err.message, closeCodeFor(err));
      }
      await this.#closeAgent(ws, closeCodeFor(err), closeReasonFor(err));
    }
  }

  async #onHello(ws: WebSocket, host: HostRecord, hello: HelloFrame): Promise<void> {
    const a = this.#att.get(ws) as AgentAttachment;
    if (hello.host !== host.id)
      throw new ProtocolError(
        "unexpected_frame",
        `Cannot accept hello: it names ${hello.host}, not ${host.id}`,
      );
    if (toBase64(hello.nonce) !== a.nonce)
      throw new ProtocolError("replay", "Cannot accept hello: the nonce is not this connection's challenge");
    // From here the hello is the host's own (its key signed this connection's nonce): failures are
    // audited one by one, and a newer connection that gets this far replaces this one.
    this.#att.update<AgentAttachment>(ws, (x) => {
      x.verified = true;
    });
    if (hello.cap < MIN_PEER_CAPABILITY) {
      throw new ProtocolError(
        "unsupported",
        `Cannot accept hello: agent capability ${hello.cap} is below ${MIN_PEER_CAPABILITY}; upgrade the agent`,
      );
    }
    // The one read per connection, after the signature: it also refreshes the cached host record.
    const [row] = await this.#database.select().from(hosts).where(eq(hosts.id, host.id));
    if (row) await this.#remember(row);
    if (!row || row.revokedAt) {
      throw new ProtocolError(
        "revoked",
        row ? "Cannot accept hello: this host is revoked" : "Cannot accept hello: this host was deleted",
      );
    }
    // Capability 2: answer the agent's kx with ours; both sides derive the data keys (data-key.ts).
    let kx: Uint8Array | undefined;
    if (hello.kx !== undefined && hello.cap >= 2) {
      const exchange = await KeyExchange.start();
      const keys = await exchange.finish(hello.kx, {
        connectionId: a.conn,
        nonce: fromBase64(a.nonce),
        agentKx: hello.kx,
        cpKx: exchange.publicKey,
      });
      kx = exchange.publicKey;
      this.#att.update<AgentAttachment>(ws, (x) => {
        x.dk = { in: toBase64(keys["agent>cp"]), out: toBase64(keys["cp>agent"]) };
      });
    }
    // Racing hellos of one host (reconnects that overlap) interleave at every await above: the newest
    // verified connection, by when it was accepted, wins; each older one steps aside here or below.
    if (ws.readyState !== WebSocket.OPEN) return; // replaced meanwhile by the winner, which said so
    if (this.#newerVerified(a)) return await this.#replaced(ws, a);
    const now = Date.now();
    await this.#database
      .update(hosts)
      .set({
        status: "online",
        lastSeenAt: new Date(now),
        facts: hello.facts as unknown as Record<string, unknown>,
        agentVersion: hello.version,
        runtime: `${hello.facts.runtime} ${hello.facts.runtimeVersion}`,
      })
      .where(eq(hosts.id, host.id));
    if (ws.readyState !== WebSocket.OPEN) return; // replaced meanwhile by the winner, which said so
    if (this.#newerVerified(a)) return await this.#replaced(ws, a);
    this.#att.update<AgentAttachment>(ws, (x) => {
      x.phase = "ready";
      x.dbSeen = now;
    });
    this.#agentSeen = ws;
    // One live agent per host: older connections (a half-dead one the agent gave up on, or hellos that
    // raced this one) go; newer ones still in their handshake are left to it.
    for (const other of this.ctx.getWebSockets("agent")) {
      const o = this.#att.get(other) as AgentAttachment;
      if (other !== ws && other.readyState === WebSocket.OPEN && _acceptedBefore(o, a))
        await this.#replaced(other, o, a.conn);
    }
    this.#sendAgent(ws, { t: "ready", heartbeat: heartbeatMs(this.env), ...(kx ? { kx } : {}) });
    await this.#pushConfig(ws);
    await this.#ensureAlarm(now + 2 * heartbeatMs(this.env));
  }

  /** Whether a connection accepted after `a` has a verified hello (or is ready): then it wins. */
  #newerVerified(a: AgentAttachment): boolean {
    return this.ctx.getWebSockets("agent").some((other) => {
      const o = this.#att.get(other) as AgentAttachment;
      return (
        o.conn !== a.conn &&
        (o.verified || o.phase === "ready") &&
        other.readyState === WebSocket.OPEN &&
        _acceptedBefore(a, o)
      );
    });
  }

  /** Closes `ws` as replaced by a newer connection of the same host, and records it. */
  async #replaced(ws: WebSocket, a: AgentAttachment, by?: string): Promise<void> {
    const host = await this.#host();
    await this.#closeAgent(ws, CloseCode.NORMAL, "replaced by a newer connection", { markOffline: false });
    if (!host) return;
    this.#background(
      "audit of a replaced connection",
      audit(this.#database, {
        tenantId: host.tenantId,
        actor: `host:${host.id}`,
        action: "agent.replaced",
        target: host.id,
        outcome: "allowed",
        details: { conn: a.conn, ...(by ? { by } : {}) },
      }),
    );
  }

  /**
   * Sends the host its config (frames.ts `config`), as its cluster's registry (ClusterDO) computes it.
   * One the frame's layout refuses is not sent (#sendAgent logs why): the agent keeps the last one.
   */
  async #pushConfig(ws: WebSocket): Promise<void> {
    const host = await this.#host();
    if (!host) return;
    const res = await this.#cluster(host).fetch(
      `https://cluster.internal/config?cluster=${host.clusterId}&host=${host.id}`,
    );
    this.#sendAgent(ws, { t: "config", config: (await res.json()) as HostConfig });
  }

  #cluster(host: HostRecord): DurableObjectStub {
    return this.env.CLUSTER.get(this.env.CLUSTER.idFromName(host.clusterId));
  }

  async #onAgentFrame(ws: WebSocket, host: HostRecord, frame: AgentFrame): Promise<void> {
    const a = this.#att.get(ws) as AgentAttachment;
    // Even stream ids are the agent's own (frames.ts): mesh streams, relayed to another host.
    if (
      (frame.t === "data" || frame.t === "credit" || frame.t === "fin" || frame.t === "close") &&
      frame.sid % 2 === 0
    ) {
      this.#meshRelay().fromAgent(frame);
      return;
    }
    if (a.seen - a.dbSeen > LAST_SEEN_WRITE_MS) {
      this.#att.update<AgentAttachment>(ws, (x) => {
        x.dbSeen = x.seen;
      });
      // In the background: the agent's frames queue behind this handler, every stream would wait.
      this.#background(
        "last_seen",
        this.#database
          .update(hosts)
          .set({ lastSeenAt: new Date(a.seen), status: "online" })
          .where(eq(hosts.id, host.id)),
      );
    }
    switch (frame.t) {
      case "ping":
        this.#sendAgent(ws, { t: "pong", time: frame.time });
        return;
      case "pong":
        return;
      case "hello":
        throw new ProtocolError("unexpected_frame", "Cannot accept hello: the handshake is already done");
      case "stdout":
      case "stderr":
      case "data": {
        const client = this.#client(frame.sid);
        if (!client) return this.#sendAgent(ws, { t: "close", sid: frame.sid, reason: "client gone" });
        const c = this.#att.get(client) as ClientAttachment;
        const breach = overCredit(frame.t, frame.data.length, c.credit, frame.sid, "client");
        if (breach) return this.#creditBreach(client, c, breach, "host");
        this.#att.update<ClientAttachment>(client, (x) => {
          x.out += frame.data.length;
          x.credit -= frame.data.length;
        });
        return this.#sendClient(client, { t: frame.t, data: frame.data });
      }
      case "tcp.opened": {
        const client = this.#client(frame.sid);
        if (!client) return this.#sendAgent(ws, { t: "close", sid: frame.sid, reason: "client gone" });
        this.#att.update<ClientAttachment>(client, (x) => {
          x.peerCredit += frame.credit;
        });
        return this.#sendClient(client, { t: "opened", credit: frame.credit });
      }
      case "fin": {
        const client = this.#client(frame.sid);
        if (!client) return;
        this.#sendClient(client, { t: "fin" });
        const c = this.#att.update<ClientAttachment>(client, (x) => {
          x.finHost = true;
        });
        if (c.finClient) this.#finishTcp(client);
        return;
      }
      case "tcp.open":
        this.#meshRelay().open(host, frame); // not awaited: see MeshRelay.open
        return;
      case "credit": {
        const client = this.#client(frame.sid);
        if (!client) return;
        this.#att.update<ClientAttachment>(client, (x) => {
          x.peerCredit += frame.bytes;
        });
        this.#sendClient(client, { t: "credit", bytes: frame.bytes });
        return;
      }
      case "exit": {
        const client = this.#client(frame.sid);
        if (!client) return;
        this.#sendClient(client, {
          t: "exit",
          code: frame.code,
          ...(frame.signal ? { signal: frame.signal } : {}),
        });
        this.#endSession(client, { exitCode: frame.code, signal: frame.signal ?? null, reason: null });
        client.close(1000, "exited");
        return;
      }
      case "error":
      case "close": {
        if (frame.sid === undefined) return;
        const client = this.#client(frame.sid);
        if (!client) return;
        const message = frame.t === "error" ? frame.message : (frame.reason ?? "stream closed by the host");
        this.#sendClient(client, {
          t: "error",
          code: frame.t === "error" ? frame.code : "stream_closed",
          message,
        });
        if (frame.t === "close") {
          this.#endSession(client, { exitCode: null, signal: null, reason: message });
          client.close(1000, "closed");
        }
        return;
      }
    }
  }

  // ## Exec clients

  async #acceptStream(request: Request, kind: "exec" | "tcp"): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return json(426, "upgrade_required", `${kind} takes a WebSocket upgrade`);
    }
    const agent = this.#readyAgent();
    const host = await this.#host();
    if (!agent || !host) {
      const name = request.headers.get("x-outpost-host-name") ?? "the host";
      return json(
        409,
        "host_offline",
        `${name} is offline: its agent is not connected (see 'outpost hosts')`,
      );
    }
    const spec =
      kind === "exec" ? (JSON.parse(request.headers.get("x-outpost-exec")!) as ExecSpec) : undefined;
    const target = request.headers.get("x-outpost-target") ?? "";
    // The Worker checked these (routes/host-streams.ts, expose/host-stream.ts, mesh-relay.ts); kept to
    // the documented range here too, since this count is what the agent's data is held to.
    const asked =
      (spec ? spec.credit : Number(request.headers.get("x-outpost-credit"))) || DEFAULT_STREAM_CREDIT;
    const credit = Math.min(Math.max(asked, MIN_STREAM_CREDIT), MAX_STREAM_CREDIT);
    const tenantId = request.headers.get("x-outpost-tenant")!;
    const actor = request.headers.get("x-outpost-actor")!;
    const sid = this.#nextSid(agent);
    const session = newId("session");
    const conn = (this.#att.get(agent) as AgentAttachment).conn;

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, ["client", STREAM_TAG(sid)]);
    const c: ClientAttachment = {
      role: "client",
      kind,
      sid,
      conn,
      session,
      tenantId,
      actor,
      in: 0,
      out: 0,
      credit,
      peerCredit: 0,
      done: false,
    };
    this.#att.create(server, c);

    const argv = spec ? spec.argv : [target];
    // The record is written beside the stream, not before it: the process starts at once, and the
    // session's end is written only after its start (#endSession waits for this).
    const record = this.#database
      .batch([
        this.#database
          .insert(sessions)
          .values({ id: session, tenantId, hostId: host.id, actor, kind, argv, startedAt: new Date() }),
        auditInsert(this.#database, {
          tenantId,
          actor,
          action: kind === "exec" ? "host.exec" : "host.tcp",
          target: host.id,
          outcome: "allowed",
          details: { session, ...(spec ? { argv: spec.argv } : { target }) },
        }),
      ])
      .then(
        () => {},
        (err: unknown) => console.error("HostDO could not record session", session, err),
      );
    this.#sessionWrites.set(session, record);
    this.ctx.waitUntil(record);
    this.#sendClient(server, { t: "started", session });
    if (spec) {
      this.#sendAgent(agent, {
        t: "exec.open",
        sid,
        argv: spec.argv,
        ...(spec.cwd ? { cwd: spec.cwd } : {}),
        ...(spec.env ? { env: spec.env } : {}),
        ...(spec.timeout ? { timeout: spec.timeout } : {}),
        credit,
      });
    } else {
      this.#sendAgent(agent, {
        t: "tcp.open",
        sid,
        target: /^\d+$/.test(target) ? Number(target) : target,
        credit,
      });
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Both sides of a TCP stream sent fin: it is over. */
  #finishTcp(client: WebSocket): void {
    this.#endSession(client, { exitCode: null, signal: null, reason: null });
    client.close(1000, "done");
  }

  async #onClientMessage(ws: WebSocket, c: ClientAttachment, message: string | ArrayBuffer): Promise<void> {
    if (c.done) return;
    let frame: ReturnType<typeof decodeClientFrame>;
    try {
      if (typeof message === "string")
        throw new ProtocolError("malformed", "Cannot decode stream frame: text messages are not accepted");
      frame = decodeClientFrame(new Uint8Array(message));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.#sendClient(ws, { t: "error", code: "bad_frame", message: reason });
      this.#abortStream(ws, c, reason);
      ws.close(closeCodeFor(err), closeReasonFor(err));
      return;
    }
    const agent = this.#readyAgent();
    if (!agent || (this.#att.get(agent) as AgentAttachment).conn !== c.conn) return; // the agent's close handler ends the stream
    switch (frame.t) {
      case "stdin": {
        if (c.kind !== "exec") return this.#refuseClient(ws, c, "stdin is only valid on exec streams");
        const breach = overCredit("stdin", frame.data.length, c.peerCredit, c.sid, "host");
        if (breach) return this.#creditBreach(ws, c, breach, "client");
        this.#att.update<ClientAttachment>(ws, (x) => {
          x.in += frame.data.length;
          x.peerCredit -= frame.data.length;
        });
        this.#sendAgent(agent, {
          t: "stdin",
          sid: c.sid,
          data: frame.data,
          ...(frame.eof ? { eof: true } : {}),
        });
        return;
      }
      case "signal":
        if (c.kind !== "exec") return this.#refuseClient(ws, c, "signal is only valid on exec streams");
        this.#sendAgent(agent, { t: "signal", sid: c.sid, name: frame.name });
        return;
      case "credit": {
        const bytes = trimGrant(c.credit, frame.bytes);
        if (bytes === 0) return;
        this.#att.update<ClientAttachment>(ws, (x) => {
          x.credit += bytes;
        });
        this.#sendAgent(agent, { t: "credit", sid: c.sid, bytes });
        return;
      }
      case "data": {
        if (c.kind !== "tcp" || c.finClient)
          return this.#refuseClient(ws, c, `data is not valid on this ${c.kind} stream now`);
        const breach = overCredit("data", frame.data.length, c.peerCredit, c.sid, "host");
        if (breach) return this.#creditBreach(ws, c, breach, "client");
        this.#att.update<ClientAttachment>(ws, (x) => {
          x.in += frame.data.length;
          x.peerCredit -= frame.data.length;
        });
        this.#sendAgent(agent, { t: "data", sid: c.sid, data: frame.data });
        return;
      }
      case "fin": {
        if (c.kind !== "tcp" || c.finClient)
          return this.#refuseClient(ws, c, `fin is not valid on this ${c.kind} stream now`);
        const after = this.#att.update<ClientAttachment>(ws, (x) => {
          x.finClient = true;
        });
        this.#sendAgent(agent, { t: "fin", sid: c.sid });
        if (after.finHost) this.#finishTcp(ws);
        return;
      }
    }
  }

  async #refuseClient(ws: WebSocket, c: ClientAttachment, message: string): Promise<void> {
    this.#sendClient(ws, { t: "error", code: "bad_frame", message });
    this.#abortStream(ws, c, message);
    ws.close(CloseCode.MALFORMED, message.slice(0, 120));
  }

  /**
   * A side sent beyond the credit the other granted: that stream ends (4413, close-codes.ts), its data
   * is dropped and the agent is told to stop it; the agent's connection and other streams go on.
   */
  #creditBreach(client: WebSocket, c: ClientAttachment, message: string, by: "host" | "client"): void {
    this.#sendClient(client, { t: "error", code: CREDIT_EXCEEDED, message });
    this.#abortStream(client, c, message);
    try {
      client.close(CloseCode.TOO_BIG, closeReasonFor(new ProtocolError("too_big", message)));
    } catch {}
    if (by === "host") {
      this.#background(
        "audit of a credit breach",
        this.#auditDenied(c.tenantId, this.#hostRecord?.id ?? "unknown", "agent.protocol_error", message, {
          close: CloseCode.TOO_BIG,
          session: c.session,
        }),
      );
    }
  }

  // ## Closing

  async #closed(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      const a = this.#att.get(ws);
      if (a.role === "agent") await this.#agentGone(ws, a, `host disconnected (${code} ${reason})`);
      else this.#abortStream(ws, a, "client disconnected");
    } catch (err) {
      console.error("HostDO close handling failed", err);
    }
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason.slice(0, 120));
    } catch {}
  }

  /** Closes an agent socket with `code` and ends everything that ran on it. */
  async #closeAgent(
    ws: WebSocket,
    code: number,
    reason: string,
    opts: { markOffline?: boolean } = {},
  ): Promise<void> {
    try {
      ws.close(code, reason);
    } catch {}
    await this.#agentGone(ws, this.#att.get(ws) as AgentAttachment, `host disconnected: ${reason}`, opts);
  }

  async #agentGone(
    ws: WebSocket,
    a: AgentAttachment,
    why: string,
    opts: { markOffline?: boolean } = {},
  ): Promise<void> {
    this.#arrivals.delete(a.conn);
    this.#dataKeys.delete(a.conn);
    if (this.#agentSeen === ws) this.#agentSeen = undefined;
    // Mesh streams ran over this connection; the far hosts' ends go too.
    if (a.phase === "ready") this.#mesh?.closeAll();
    for (const client of this.ctx.getWebSockets("client")) {
      const c = this.#att.get(client) as ClientAttachment;
      if (c.conn !== a.conn || c.done) continue;
      this.#sendClient(client, { t: "error", code: "host_disconnected", message: why });
      this.#endSession(client, { exitCode: null, signal: null, reason: why });
      try {
        client.close(1011, "host disconnected");
      } catch {}
    }
    const stillReady = this.ctx
      .getWebSockets("agent")
      .some((o) => o !== ws && (this.#att.get(o) as AgentAttachment).phase === "ready");
    const host = await this.#host();
    if (a.phase === "ready" && host && !stillReady && opts.markOffline !== false) {
      await this.#database
        .update(hosts)
        .set({ status: "offline", lastSeenAt: new Date(a.seen) })
        .where(eq(hosts.id, host.id));
    }
  }

  /** The client went away or misbehaved: stop the process on the host and record the end. */
  #abortStream(ws: WebSocket, c: ClientAttachment, reason: string): void {
    if (c.done) return;
    const agent = this.#readyAgent();
    if (agent && (this.#att.get(agent) as AgentAttachment).conn === c.conn)
      this.#sendAgent(agent, { t: "close", sid: c.sid, reason });
    this.#endSession(ws, { exitCode: null, signal: null, reason });
  }

  /**
   * Marks the stream done at once and records its end in the background, after its start. Never
   * awaited where frames are relayed: a database round trip per ended stream, in the agent's frame
   * queue, stalled every other stream of the host behind it (100 uploads ending together: seconds).
   */
  #endSession(
    ws: WebSocket,
    end: { exitCode: number | null; signal: string | null; reason: string | null },
  ): void {
    const c = this.#att.get(ws) as ClientAttachment;
    if (c.done) return;
    this.#att.update<ClientAttachment>(ws, (x) => {
      x.done = true;
    });
    this.#clientSeen.delete(c.sid);
    const started = this.#sessionWrites.get(c.session) ?? Promise.resolve();
    this.#sessionWrites.delete(c.session);
    const endedAt = new Date();
    this.#background(
      `session ${c.session} end`,
      started.then(() =>
        this.#database
          .update(sessions)
          .set({
            endedAt,
            exitCode: end.exitCode,
            signal: end.signal,
            endReason: end.reason,
            bytesIn: c.in,
            bytesOut: c.out,
          })
          .where(and(eq(sessions.id, c.session), eq(sessions.tenantId, c.tenantId))),
      ),
    );
  }

  /** Runs `work` past this event (waitUntil), logging a failure instead of failing the event. */
  #background(what: string, work: PromiseLike<unknown>): void {
    this.ctx.waitUntil(
      Promise.resolve(work).then(
        () => {},
        (err: unknown) => console.error(`HostDO could not write ${what}`, err),
      ),
    );
  }

  async #disconnect(reason: string): Promise<void> {
    const host = await this.#host();
    if (host && (reason === "revoked" || reason === "deleted")) {
      this.#hostRecord = { ...host, revoked: reason };
      await this.ctx.storage.put("host", this.#hostRecord);
    }
    for (const ws of this.ctx.getWebSockets("agent")) {
      await this.#closeAgent(ws, CloseCode.REVOKED, `host ${reason}`, { markOffline: false });
    }
  }

  /** Ends every live stream `actor` opened here (its API key was revoked), saying why. */
  #endStreamsOf(actor: string, reason: string): void {
    for (const client of this.ctx.getWebSockets("client")) {
      const c = this.#att.get(client) as ClientAttachment;
      if (c.actor !== actor || c.done) continue;
      this.#sendClient(client, { t: "error", code: "revoked", message: reason });
      this.#abortStream(client, c, reason);
      try {
        client.close(CloseCode.REVOKED, reason.slice(0, 120));
      } catch {}
    }
  }

  // ## Helpers

  #readyAgent(): WebSocket | undefined {
    const seen = this.#agentSeen;
    if (seen?.readyState === WebSocket.OPEN && (this.#att.get(seen) as AgentAttachment).phase === "ready") {
      return seen;
    }
    this.#agentSeen = this.ctx
      .getWebSockets("agent")
      .find((ws) => (this.#att.get(ws) as AgentAttachment).phase === "ready");
    return this.#agentSeen;
  }

  #client(sid: number): WebSocket | undefined {
    const seen = this.#clientSeen.get(sid);
    if (seen?.readyState === WebSocket.OPEN && !(this.#att.get(seen) as ClientAttachment).done) return seen;
    const found = this.ctx
      .getWebSockets(STREAM_TAG(sid))
      .find((ws) => !(this.#att.get(ws) as ClientAttachment).done);
    if (found === undefined) this.#clientSeen.delete(sid);
    else this.#clientSeen.set(sid, found);
    return found;
  }

  /** Numbers `frame` now and sends it once signed, in numbering order (signing runs concurrently). */
  #sendAgent(ws: WebSocket, frame: Outgoing): void {
    const a = this.#att.update<AgentAttachment>(ws, (x) => {
      x.out += 1;
    });
    const seq = a.out; // the record is live: later frames move it on
    const dataKey = this.#dataKey(a, "out");
    const sealed = this.#cpSigner().then(async (signer) =>
      sealFrame({ ...frame, seq } as ControlPlaneFrame, signer, {
        connectionId: a.conn,
        direction: "cp>agent",
        ...(dataKey ? { dataKey: await dataKey } : {}),
      }),
    );
    const previous = this.#outbound.get(a.conn) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        const bytes = await sealed;
        // A socket closed meanwhile (by us, for a protocol error) just drops what was queued for it.
        if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
      } catch (err) {
        console.error("HostDO could not send to the agent", err);
      }
    });
    this.#outbound.set(a.conn, next);
    void next.then(() => {
      if (this.#outbound.get(a.conn) === next) this.#outbound.delete(a.conn);
    });
  }

  #sendClient(ws: WebSocket, frame: ServerToClient): void {
    try {
      ws.send(encodeStreamFrame(frame));
    } catch {
      // The client is gone; its close event ends the stream.
    }
  }

  /** The agent connection's data key for one direction, once the handshake agreed them. */
  #dataKey(a: AgentAttachment, which: "in" | "out"): Promise<DataKey> | undefined {
    if (a.dk === undefined) return undefined;
    let keys = this.#dataKeys.get(a.conn);
    if (keys === undefined) {
      keys = { in: DataKey.fromBytes(fromBase64(a.dk.in)), out: DataKey.fromBytes(fromBase64(a.dk.out)) };
      this.#dataKeys.set(a.conn, keys);
    }
    return keys[which];
  }

  #cpSigner(): Promise<Signer> {
    this.#signer ??= controlPlaneSigner(this.env);
    return this.#signer;
  }

  async #hostVerifier(host: HostRecord | undefined): Promise<Verifier> {
    if (!host)
      throw new ProtocolError("unknown_key", "Cannot open frame: this object does not know its host");
    if (this.#verifier?.key !== host.publicKey) {
      this.#verifier = {
        key: host.publicKey,
        verifier: new Verifier(host.publicKey as `hostkey:${string}` & never),
      };
    }
    return this.#verifier.verifier;
  }

  /**
   * The host this object serves, for a connect to `hostId`: from memory or storage when known, else
   * read once from the database. An unknown id is remembered for a window, so that connects to it
   * cost no read each.
   */
  async #knownHost(hostId: string): Promise<HostRecord | undefined> {
    const known = await this.#host();
    if (known?.id === hostId) return known;
    if (Date.now() < this.#unknownUntil) return undefined;
    const [row] = await this.#database.select().from(hosts).where(eq(hosts.id, hostId)).limit(1);
    if (!row) {
      this.#unknownUntil = Date.now() + SAMPLE_WINDOW_MS;
      return undefined;
    }
    return this.#remember(row);
  }

  /** Keeps `row` as this object's host record, writing storage only when it changed. */
  async #remember(row: typeof hosts.$inferSelect): Promise<HostRecord> {
    const record: HostRecord = {
      id: row.id,
      tenantId: row.tenantId,
      clusterId: row.clusterId,
      name: row.name,
      publicKey: row.publicKey,
      ...(row.revokedAt ? { revoked: "revoked" as const } : {}),
    };
    const known = await this.#host();
    if (JSON.stringify(known) !== JSON.stringify(record)) await this.ctx.storage.put("host", record);
    this.#hostRecord = record;
    return record;
  }

  /** Counts a failure of an unauthenticated connection; its sampled event is written by the alarm. */
  async #sampleFailure(action: string, reason: string, close: number): Promise<void> {
    await this.#ensureAlarm(this.#failures.record(action, reason, close, Date.now()));
  }

  async #auditSample(s: FailureSample): Promise<void> {
    const host = await this.#host();
    if (!host) return;
    await this.#auditDenied(host.tenantId, host.id, s.action, s.reason, {
      close: s.close,
      sampled: true,
      count: s.count,
      closes: s.closes,
      since: s.since,
    });
  }

  /** The host record, read from storage once per object lifetime (written by #remember, #disconnect). */
  async #host(): Promise<HostRecord | undefined> {
    this.#hostRecord ??= await this.ctx.storage.get<HostRecord>("host");
    return this.#hostRecord;
  }

  /**
   * The next stream id on `agent`'s connection: odd ids are the control plane's (frames.ts), never
   * reused on a connection. Kept in the socket's attachment, so no storage write delays the stream.
   */
  #nextSid(agent: WebSocket): number {
    return this.#att.update<AgentAttachment>(agent, (x) => {
      x.lastSid = (x.lastSid ?? -1) + 2;
    }).lastSid!;
  }

  async #ensureAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  async #auditDenied(
    tenantId: string | null,
    hostId: string,
    action: string,
    reason: string,
    details: Record<string, unknown> = {},
  ) {
    try {
      await audit(this.#database, {
        tenantId,
        actor: `host:${hostId}`,
        action,
        target: hostId,
        outcome: "denied",
        details: { reason, ...details },
      });
    } catch (err) {
      console.error("HostDO could not write an audit event", err);
    }
  }
}
