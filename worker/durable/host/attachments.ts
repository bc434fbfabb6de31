// What each WebSocket of a HostDO remembers across hibernation (serializeAttachment, ≤ 2 KiB). Memory
// of the object may be dropped at any time between events; these records and DO storage may not.
import type { ConnectionId } from "../../../schema/protocol/index.ts";

export interface AgentAttachment {
  role: "agent";
  conn: ConnectionId;
  /** The challenge's nonce, base64. */
  nonce: string;
  phase: "challenged" | "ready";
  /** Last seq accepted from the agent / last seq sent to it. */
  in: number;
  out: number;
  /** When the socket was accepted, and when a frame last arrived (ms). */
  since: number;
  seen: number;
  /** When last_seen was last written to the database (ms); throttles those writes. */
  dbSeen: number;
  /** The last stream id the control plane opened on this connection (odd). */
  lastSid?: number;
  /**
   * Capability 2: this connection's data keys (schema/protocol/data-key.ts), base64: `in` checks the
   * agent's data frames, `out` MACs ours. Kept with the socket (never in storage), as long as it lives.
   */
  dk?: { in: string; out: string };
}

export interface ClientAttachment {
  role: "client";
  kind: "exec" | "tcp";
  /** The agent stream id this client drives, and the agent connection it runs on. */
  sid: number;
  conn: ConnectionId;
  session: string;
  tenantId: string;
  actor: string;
  /** Bytes client → host (stdin) and host → client (stdout + stderr). */
  in: number;
  out: number;
  done: boolean;
  /** TCP half closes seen from each side; the stream ends when both have sent fin. */
  finClient?: boolean;
  finHost?: boolean;
}

export type Attachment = AgentAttachment | ClientAttachment;

export function attachment(ws: WebSocket): Attachment {
  return ws.deserializeAttachment() as Attachment;
}

/** Read-modify-write of an attachment. Synchronous, so no other event can interleave. */
export function update<A extends Attachment>(ws: WebSocket, change: (a: A) => void): A {
  const a = ws.deserializeAttachment() as A;
  change(a);
  ws.serializeAttachment(a);
  return a;
}

/** What the object keeps in its own storage about its host. */
export interface HostRecord {
  id: string;
  tenantId: string;
  clusterId: string;
  name: string;
  publicKey: string;
}

export const STREAM_TAG = (sid: number) => `sid:${sid}`;
