// The agent's end of the link: the challenge, the hello and its checks, the key exchange, opening and
// sealing frames (signature, connection, direction, sequence window, data keys) and the outbound
// order. One live agent connection per host: among racing hellos the newest verified one wins.
// What must outlive an eviction is in the socket's attachment (attachments.ts); the fields here are
// caches (signer, verifier, data keys, the ready socket) and the per-connection send queue.
import { eq } from "drizzle-orm";
import { hosts } from "../../../schema/db/tables.ts";
import { fromBase64, toBase64 } from "../../../schema/protocol/base64.ts";
import {
  type AgentFrame,
  CloseCode,
  type ControlPlaneFrame,
  closeCodeFor,
  closeReasonFor,
  DataKey,
  HANDSHAKE_TIMEOUT_MS,
  type HelloFrame,
  KeyExchange,
  MIN_PEER_CAPABILITY,
  newConnectionId,
  openFrame,
  PROTOCOL_CAPABILITY,
  ProtocolError,
  parseHostKey,
  SequenceWindow,
  type Signer,
  sealFrame,
  type Unsequenced,
  Verifier,
} from "../../../schema/protocol/index.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import { controlPlaneSigner } from "../../auth/control-plane-key.ts";
import type { Database } from "../../db/database.ts";
import type { Bindings } from "../../env.ts";
import type { AgentAttachment, Attachments, HostPresence, HostRecord } from "./attachments.ts";
import type { HostRecords } from "./host-record.ts";
import type { Liveness } from "./liveness.ts";
import type { SessionLog } from "./session-log.ts";

/** A frame to send, before the link numbers it. */
export type Outgoing = Unsequenced<ControlPlaneFrame>;

/** What the object does when the link has news: a frame for the relay, a connection ready or gone. */
export interface LinkEvents {
  frame(ws: WebSocket, host: HostRecord, frame: AgentFrame): Promise<void>;
  ready(ws: WebSocket): Promise<void>;
  gone(ws: WebSocket, a: AgentAttachment, why: string, markOffline: boolean): Promise<void>;
}

/** Whether `a` was accepted before `b`: by time, then by connection id (ties in one millisecond). */
function _acceptedBefore(a: AgentAttachment, b: AgentAttachment): boolean {
  return a.since < b.since || (a.since === b.since && a.conn < b.conn);
}

/**
 * What a verified hello changes in the host's row, as a function of the time, or undefined when it
 * changes nothing: online already, the same facts, version and runtime.
 */
function _presence(row: HostPresence, hello: HelloFrame) {
  const facts = hello.facts as unknown as Record<string, unknown>;
  const runtime = `${hello.facts.runtime} ${hello.facts.runtimeVersion}`;
  const same =
    row.status === "online" &&
    row.agentVersion === hello.version &&
    row.runtime === runtime &&
    JSON.stringify(row.facts) === JSON.stringify(facts);
  if (same) return undefined;
  return (now: number) => ({
    status: "online" as const,
    lastSeenAt: new Date(now),
    facts,
    agentVersion: hello.version,
    runtime,
  });
}

export class AgentLink {
  #signer: Promise<Signer> | undefined;
  #verifier: { key: string; verifier: Verifier } | undefined;
  /** Data keys imported from agent attachments (a cache: the attachment is the record). */
  readonly #dataKeys = new Map<string, { in: Promise<DataKey>; out: Promise<DataKey> }>();
  /** Per-connection send queue: frames go out in the order they were numbered. */
  readonly #outbound = new Map<string, Promise<void>>();
  /**
   * The ready agent, remembered while this object is in memory, so that relaying a frame is not a
   * getWebSockets() call (about 2% of the object's JS time at 1,000 requests/s). Checked on every use
   * and looked up again when stale; it starts empty after hibernation.
   */
  #agentSeen: WebSocket | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Bindings,
    private readonly att: Attachments,
    private readonly db: () => Database,
    private readonly hosts: HostRecords,
    private readonly log: SessionLog,
    private readonly liveness: Liveness,
    private readonly events: LinkEvents,
  ) {}

  // ## Accepting

  /** An agent's upgrade: refused with a close code it acts on, or challenged. */
  async accept(hostId: HostId): Promise<Response> {
    const record = await this.hosts.known(hostId);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    if (!record || record.revoked) {
      // Accept only to say why with a close code the agent acts on: it stops reconnecting.
      server.accept();
      server.close(
        CloseCode.REVOKED,
        record ? `host ${record.revoked}: enroll again with a new token` : "unknown host: enroll again",
      );
      if (record)
        await this.liveness.sampleFailure("agent.connect", `host ${record.revoked}`, CloseCode.REVOKED);
      return new Response(null, { status: 101, webSocket: client });
    }

    const now = Date.now();
    const nonce = crypto.getRandomValues(new Uint8Array(32));
    const conn = newConnectionId();
    this.ctx.acceptWebSocket(server, ["agent"]);
    this.att.create(server, {
      role: "agent",
      conn,
      nonce: toBase64(nonce),
      phase: "challenged",
      in: 0,
      out: 0,
      since: now,
      seen: now,
    });
    const signer = await this.#cpSigner();
    this.send(server, {
      t: "challenge",
      nonce,
      time: now,
      conn,
      kid: signer.keyId,
      cap: PROTOCOL_CAPABILITY,
    });
    await this.liveness.ensureAlarm(now + HANDSHAKE_TIMEOUT_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  // ## Receiving

  /**
   * Opens and checks one message from the agent, then hands it on: the hello to the handshake, every
   * later frame to the relay. A protocol error, here or in the relay, is audited and closes the link.
   */
  async receive(ws: WebSocket, a: AgentAttachment, message: string | ArrayBuffer): Promise<void> {
    const host = await this.hosts.get();
    try {
      if (!host)
        throw new ProtocolError("unknown_key", "Cannot open frame: this object does not know its host");
      if (typeof message === "string")
        throw new ProtocolError("malformed", "Cannot open frame: text messages are not part of the protocol");
      const guard = new SequenceWindow(a.in);
      const dataKey = this.#dataKey(a, "in");
      const frame = await openFrame(message, this.#hostVerifier(host), {
        connectionId: a.conn,
        direction: "agent>cp",
        guard,
        ...(dataKey ? { dataKey: await dataKey } : {}),
      });
      const now = Date.now();
      this.att.update<AgentAttachment>(ws, (x) => {
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
      await this.events.frame(ws, host, frame);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      const now = this.att.get(ws) as AgentAttachment;
      if (now.phase === "ready" || now.verified) {
        await this.log.denied(
          host?.tenantId ?? null,
          host?.id ?? "unknown",
          "agent.protocol_error",
          err.message,
          {
            close: closeCodeFor(err),
          },
        );
      } else {
        // Nobody has proved to be the host yet: counted and sampled, not written one by one.
        await this.liveness.sampleFailure("agent.protocol_error", err.message, closeCodeFor(err));
      }
      await this.close(ws, closeCodeFor(err), closeReasonFor(err));
    }
  }

  async #onHello(ws: WebSocket, host: HostRecord, hello: HelloFrame): Promise<void> {
    const a = this.att.get(ws) as AgentAttachment;
    if (hello.host !== host.id)
      throw new ProtocolError(
        "unexpected_frame",
        `Cannot accept hello: it names ${hello.host}, not ${host.id}`,
      );
    if (toBase64(hello.nonce) !== a.nonce)
      throw new ProtocolError("replay", "Cannot accept hello: the nonce is not this connection's challenge");
    // From here the hello is the host's own (its key signed this connection's nonce): failures are
    // audited one by one, and a newer connection that gets this far replaces this one.
    this.att.update<AgentAttachment>(ws, (x) => {
      x.verified = true;
      x.cap = hello.cap;
    });
    if (hello.cap < MIN_PEER_CAPABILITY) {
      throw new ProtocolError(
        "unsupported",
        `Cannot accept hello: agent capability ${hello.cap} is below ${MIN_PEER_CAPABILITY}; upgrade the agent`,
      );
    }
    // The one read per connection, after the signature, unless the record's copy is fresh (see
    // host-record.ts; a revoked or deleted host is refused from the record at once): it also refreshes
    // the cached host record. After any offline write of an older connection of this object, so that
    // the row read is current.
    const offlineWrites = await this.liveness.offlineSettled();
    const row = await this.hosts.presence(host.id);
    if (!row || row.revoked) {
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
      this.att.update<AgentAttachment>(ws, (x) => {
        x.dk = { in: toBase64(keys["agent>cp"]), out: toBase64(keys["cp>agent"]) };
      });
    }
    // Racing hellos of one host (reconnects that overlap) interleave at every await above: the newest
    // verified connection, by when it was accepted, wins; each older one steps aside here or below.
    if (ws.readyState !== WebSocket.OPEN) return; // replaced meanwhile by the winner, which said so
    if (this.#newerVerified(a)) return await this.#replaced(ws, a);
    const now = Date.now();
    const seen = _presence(row, hello);
    // Nothing changed (a reconnect after a control-plane restart, whose hosts were never marked
    // offline): nothing is written, so a herd of 10,000 reconnects costs the database reads only.
    if (seen) {
      const written = seen(now);
      await this.db().update(hosts).set(written).where(eq(hosts.id, host.id));
      await this.hosts.wrote(written);
    }
    if (ws.readyState !== WebSocket.OPEN) return; // replaced meanwhile by the winner, which said so
    if (this.#newerVerified(a)) return await this.#replaced(ws, a);
    this.att.update<AgentAttachment>(ws, (x) => {
      x.phase = "ready";
    });
    // An older connection went offline after the row was read (its close came during this
    // handshake): this one is the host's presence now.
    if (this.liveness.offlineSince(offlineWrites)) {
      const written = _presence({ ...row, status: "offline" }, hello)!(now);
      await this.db().update(hosts).set(written).where(eq(hosts.id, host.id));
      await this.hosts.wrote(written);
    }
    this.#agentSeen = ws;
    // One live agent per host: older connections (a half-dead one the agent gave up on, or hellos that
    // raced this one) go; newer ones still in their handshake are left to it.
    for (const other of this.ctx.getWebSockets("agent")) {
      const o = this.att.get(other) as AgentAttachment;
      if (other !== ws && other.readyState === WebSocket.OPEN && _acceptedBefore(o, a))
        await this.#replaced(other, o, a.conn);
    }
    this.send(ws, { t: "ready", heartbeat: this.liveness.heartbeatMs, ...(kx ? { kx } : {}) });
    await this.events.ready(ws);
    await this.liveness.readyAt(now);
  }

  /** Whether a connection accepted after `a` has a verified hello (or is ready): then it wins. */
  #newerVerified(a: AgentAttachment): boolean {
    return this.ctx.getWebSockets("agent").some((other) => {
      const o = this.att.get(other) as AgentAttachment;
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
    const host = await this.hosts.get();
    await this.close(ws, CloseCode.NORMAL, "replaced by a newer connection", { markOffline: false });
    if (host) this.log.replaced(host, a.conn, by);
  }

  // ## Sending

  /** The ready agent connection, if there is one. */
  ready(): WebSocket | undefined {
    const seen = this.#agentSeen;
    if (seen?.readyState === WebSocket.OPEN && (this.att.get(seen) as AgentAttachment).phase === "ready") {
      return seen;
    }
    this.#agentSeen = this.ctx
      .getWebSockets("agent")
      .find((ws) => (this.att.get(ws) as AgentAttachment).phase === "ready");
    return this.#agentSeen;
  }

  /** Numbers `frame` now and sends it once signed, in numbering order (signing runs concurrently). */
  send(ws: WebSocket, frame: Outgoing): void {
    const a = this.att.update<AgentAttachment>(ws, (x) => {
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

  // ## Closing

  /** Closes an agent socket with `code` and ends everything that ran on it. */
  async close(
    ws: WebSocket,
    code: number,
    reason: string,
    opts: { markOffline?: boolean } = {},
  ): Promise<void> {
    try {
      ws.close(code, reason);
    } catch {}
    await this.gone(ws, this.att.get(ws) as AgentAttachment, `host disconnected: ${reason}`, opts);
  }

  /** The socket is closed (by either side): forget its caches, then the object ends its streams. */
  async gone(
    ws: WebSocket,
    a: AgentAttachment,
    why: string,
    opts: { markOffline?: boolean } = {},
  ): Promise<void> {
    this.#dataKeys.delete(a.conn);
    if (this.#agentSeen === ws) this.#agentSeen = undefined;
    await this.events.gone(ws, a, why, opts.markOffline !== false);
  }

  /** Whether another agent socket than `ws` is ready. */
  otherReady(ws: WebSocket): boolean {
    return this.ctx
      .getWebSockets("agent")
      .some((o) => o !== ws && (this.att.get(o) as AgentAttachment).phase === "ready");
  }

  // ## Keys

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

  #hostVerifier(host: HostRecord): Verifier {
    if (this.#verifier?.key !== host.publicKey) {
      this.#verifier = { key: host.publicKey, verifier: new Verifier(parseHostKey(host.publicKey)) };
    }
    return this.#verifier.verifier;
  }
}
