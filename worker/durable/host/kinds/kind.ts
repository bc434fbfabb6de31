// The one interface every stream kind implements in the HostDO, and what the core lends it. The core
// (host-do.ts with the link, the stream table and the session log) owns sockets, ids, sessions and
// the agent connection; a kind owns only what its frames mean. Adding a kind: one module in this
// folder implementing StreamKind, one entry in index.ts, its frames in schema/.

import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import type {
  AgentFrame,
  HelloFrame,
  PingFrame,
  PongFrame,
  TcpOpenFrame,
} from "../../../../schema/protocol/index.ts";
import type { Bindings } from "../../../env.ts";
import type { RecordingState } from "../../../recordings/index.ts";
import type { AgentLink, Outgoing } from "../agent-link.ts";
import type { Attachments, ClientAttachment } from "../attachments.ts";
import type { SessionStart } from "../session-log.ts";
import type { ClientKind, ClientRequest } from "../stream-request.ts";

export type { ClientKind, ClientRequest };

import type { StreamTable } from "../stream-table.ts";

/** What a kind may use: the agent link, the stream table, the sockets' records. */
export interface Relay {
  readonly env: Bindings;
  readonly link: AgentLink;
  readonly streams: StreamTable;
  readonly att: Attachments;
  /** Runs `work` past the current event (waitUntil), logging a failure instead of throwing it. */
  readonly background: (what: string, work: Promise<unknown>) => void;
}

/** The agent's frames that belong to a stream (everything but the handshake, pings and opens). */
export type AgentStreamFrame = Exclude<AgentFrame, HelloFrame | PingFrame | PongFrame | TcpOpenFrame>;

/** A client stream's socket and its record, as the stream table found them. */
export interface ClientStream {
  ws: WebSocket;
  c: ClientAttachment;
}

/** What a client-opened kind is given to open a stream: its checked request, the new sid, the credit. */
export interface ClientOpen<K extends ClientKind> {
  req: Extract<ClientRequest, { kind: K }>;
  sid: number;
  /** The client's initial credit, already kept to MIN_STREAM_CREDIT..MAX_STREAM_CREDIT. */
  credit: number;
}

/** How a client-opened stream starts on the agent: its open frame and its session record. */
export interface Opened {
  frame: Outgoing;
  session: Omit<SessionStart, "hostId">;
  /** A recorded stream's recording, as it starts (kept in the stream's attachment). */
  rec?: RecordingState;
}

export interface StreamKind<Open, Result = void> {
  /** The agent capability its open frame came in (frames.ts), when above the oldest agent's. */
  readonly capability?: number;
  /** Opens a stream: from a client's checked request, or from the agent's own open frame. */
  open(open: Open): Result;
  /** A frame from the agent on one of this kind's streams (`stream`: its client, when it has one). */
  fromAgent(frame: AgentStreamFrame, stream: ClientStream | undefined): void;
  /** A frame from a client of one of this kind's streams, relayed while the agent is ready. */
  fromClient(stream: ClientStream, agent: WebSocket, frame: ClientToServer): void;
  /** The stream ended, however it did (its attachment is marked done): what it holds goes. */
  ended?(c: ClientAttachment): void;
  /** The agent connection is gone: whatever the kind holds beyond the stream table goes too. */
  end(): void;
}
