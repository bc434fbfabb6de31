// What each WebSocket of a HostDO remembers across hibernation (serializeAttachment, ≤ 2 KiB). Memory
// of the object may be dropped at any time between events; these records and DO storage may not.

import type { ClusterId, SessionId, TenantId } from "../../../schema/ids.ts";
import type { ConnectionId, HostId, HostPublicKey } from "../../../schema/protocol/index.ts";
import type { RecordingState } from "../../recordings/recording-state.ts";
import type { ClientKind } from "./stream-request.ts";

export interface AgentAttachment {
  role: "agent";
  conn: ConnectionId;
  /** The challenge's nonce, base64. */
  nonce: string;
  phase: "challenged" | "ready";
  /**
   * Its hello's signature and nonce checked, the rest of the handshake under way: among racing hellos
   * of one host the newest verified connection wins (AgentLink #onHello), never an unverified one.
   */
  verified?: boolean;
  /** Last seq accepted from the agent / last seq sent to it. */
  in: number;
  out: number;
  /** When the socket was accepted, and when a frame last arrived (ms). */
  since: number;
  seen: number;
  /** The last stream id the control plane opened on this connection (odd). */
  lastSid?: number;
  /**
   * Capability 2: this connection's data keys (schema/protocol/data-key.ts), base64: `in` checks the
   * agent's data frames, `out` MACs ours. Kept with the socket (never in storage), as long as it lives.
   */
  dk?: { in: string; out: string };
  /** The capability its hello said (frames.ts); what a kind may send it depends on it. */
  cap?: number;
}

export interface ClientAttachment {
  role: "client";
  /** Its kind's entry in host/kinds/index.ts: the stream request's kind. */
  kind: ClientKind;
  /** The agent stream id this client drives, and the agent connection it runs on. */
  sid: number;
  conn: ConnectionId;
  session: SessionId;
  /** The session's row is a fan-out's (its ClusterDO writes its start and end), not this object's. */
  fanout?: true;
  tenantId: TenantId;
  actor: string;
  /** Bytes client → host (stdin) and host → client (stdout + stderr). */
  in: number;
  out: number;
  /**
   * Flow control, enforced here (frames.ts): `credit` is what the agent may still send to this client
   * (the client's grants less what was relayed), `peerCredit` what the client may still send to the
   * agent (the agent's grants, tcp.opened and credit, less what was relayed).
   */
  credit: number;
  peerCredit: number;
  done: boolean;
  /** TCP half closes seen from each side; the stream ends when both have sent fin. */
  finClient?: boolean;
  finHost?: boolean;
  /** A recorded pty stream's recording so far (worker/recordings/), kept here across hibernation. */
  rec?: RecordingState;
}

export type Attachment = AgentAttachment | ClientAttachment;

/**
 * The attachments of one object's sockets. Each is read from its socket once while the object is in
 * memory, and written back at most once per FLUSH_MS however many frames changed it meanwhile: a relayed
 * frame touches its agent's and its stream's records several times, and each structured-clone read or
 * write cost more than the rest of the relay (a sixth of the object's CPU at 1,000 requests/s; written
 * back once per turn instead, still a tenth).
 *
 * Nothing is lost by waiting: the record in memory is the one the object reads while it lives, and the
 * written copy matters only after hibernation, which the platform does not do while a timer is pending
 * (Durable Objects lifecycle: "no setTimeout/setInterval scheduled callbacks"). An object that goes
 * any other way (a crash, a deploy) loses its sockets with it, so their records no longer matter.
 * Keyed by the socket object, which the platform keeps the same for as long as the object is in memory.
 */
export class Attachments {
  readonly #live = new WeakMap<WebSocket, Attachment>();
  readonly #dirty = new Set<WebSocket>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  get(ws: WebSocket): Attachment {
    let a = this.#live.get(ws);
    if (a === undefined) {
      a = ws.deserializeAttachment() as Attachment;
      this.#live.set(ws, a);
    }
    return a;
  }

  /** A new socket's record, written at once. */
  create(ws: WebSocket, a: Attachment): void {
    ws.serializeAttachment(a);
    this.#live.set(ws, a);
  }

  /**
   * Changes a record in place and schedules its write-back. Synchronous, so no other event can
   * interleave; the record returned is live, so read what must not change later into a local.
   */
  update<A extends Attachment>(ws: WebSocket, change: (a: A) => void): A {
    const a = this.get(ws) as A;
    change(a);
    this.#dirty.add(ws);
    this.#timer ??= setTimeout(this.#flush, FLUSH_MS);
    return a;
  }

  readonly #flush = (): void => {
    this.#timer = undefined;
    for (const ws of this.#dirty) {
      try {
        ws.serializeAttachment(this.#live.get(ws));
      } catch {
        // Closed meanwhile: its record goes with it.
      }
    }
    this.#dirty.clear();
  };
}

/** How long a changed attachment may wait to be written back (see Attachments). */
const FLUSH_MS = 50;

/** What the object keeps in its own storage about its host. */
export interface HostRecord {
  id: HostId;
  tenantId: TenantId;
  clusterId: ClusterId;
  name: string;
  publicKey: HostPublicKey;
  /**
   * Set once the host is revoked or deleted (the Worker's disconnect RPC): connects are refused
   * from this record, without a database read per attempt (they are unauthenticated, anyone can try).
   */
  revoked?: "revoked" | "deleted";
  /**
   * The presence columns of the host's row as last read from or written to the database, and when
   * it was read (host-record.ts): a hello within HOST_ROW_FRESH_MS of it needs no read.
   */
  checked?: HostPresence & { at: number };
}

/** What a hello compares to decide whether the host's row needs a write (agent-link.ts). */
export interface HostPresence {
  status: "pending" | "online" | "offline";
  agentVersion: string | null;
  runtime: string | null;
  facts: unknown;
}

export const STREAM_TAG = (sid: number) => `sid:${sid}`;
