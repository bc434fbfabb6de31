// What the client stream kinds share: a client socket on one end, the agent on the other, and credit
// counted both ways at the relay (credit.ts). Each kind's module calls these for its own frames; the
// process kinds (exec, pty) relay their agent frames and stdin through processFromAgent / stdinToAgent.
import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import { ProtocolError } from "../../../../schema/protocol/index.ts";
import type { ClientAttachment } from "../attachments.ts";
import { clientGrants, hostGrants } from "../credit.ts";
import type { AgentStreamFrame, ClientStream, Relay } from "./kind.ts";
import type { Recorders } from "./recorders.ts";

/** Agent → client data (stdout, stderr, tcp data), never beyond the credit the client granted. */
export function dataToClient(
  relay: Relay,
  { ws, c }: ClientStream,
  frame: { t: "stdout" | "stderr" | "data"; sid: number; data: Uint8Array },
): void {
  const window = clientGrants(c);
  const breach = _receive(window, frame.data.length, frame.t);
  if (breach) {
    relay.streams.creditBreach(ws, c, breach, "host");
    return;
  }
  relay.att.update<ClientAttachment>(ws, (x) => {
    x.out += frame.data.length;
    x.credit = window.left;
  });
  relay.streams.send(ws, { t: frame.t, data: frame.data });
}

/** Client → agent data (stdin, tcp data), never beyond the credit the agent granted; false on a breach. */
export function countToAgent(relay: Relay, { ws, c }: ClientStream, t: string, size: number): boolean {
  const window = hostGrants(c);
  const breach = _receive(window, size, t);
  if (breach) {
    relay.streams.creditBreach(ws, c, breach, "client");
    return false;
  }
  relay.att.update<ClientAttachment>(ws, (x) => {
    x.in += size;
    x.peerCredit = window.left;
  });
  return true;
}

/** The agent grants the client credit (tcp.opened's or a credit frame's). */
export function creditToClient(relay: Relay, { ws, c }: ClientStream, bytes: number): void {
  const window = hostGrants(c);
  window.grant(bytes);
  relay.att.update<ClientAttachment>(ws, (x) => {
    x.peerCredit = window.left;
  });
}

/** The client grants the agent credit, trimmed so the relay never holds more than MAX_STREAM_CREDIT. */
export function creditToAgent(relay: Relay, { ws, c }: ClientStream, agent: WebSocket, asked: number): void {
  const window = clientGrants(c);
  const bytes = window.grant(asked);
  if (bytes === 0) return;
  relay.att.update<ClientAttachment>(ws, (x) => {
    x.credit = window.left;
  });
  relay.link.send(agent, { t: "credit", sid: c.sid, bytes });
}

/** The agent's error or close on a stream: the client hears why; a close ends the stream. */
export function endFromAgent(
  relay: Relay,
  { ws }: ClientStream,
  frame: Extract<AgentStreamFrame, { t: "error" | "close" }>,
): void {
  const message = frame.t === "error" ? frame.message : (frame.reason ?? "stream closed by the host");
  relay.streams.send(ws, {
    t: "error",
    code: frame.t === "error" ? frame.code : "stream_closed",
    message,
  });
  if (frame.t === "close")
    relay.streams.finish(ws, { exitCode: null, signal: null, reason: message }, "closed");
}

/**
 * A process stream's frame from the agent (exec, pty): output within the client's credit, recorded
 * when the stream is and only once relayed (a breach of the client's credit ends the stream instead),
 * credit, the exit, an error or close. Output of `silent` types is dropped (a terminal has no stderr);
 * other kinds' frames mean nothing here.
 */
export function processFromAgent(
  relay: Relay,
  stream: ClientStream,
  frame: AgentStreamFrame,
  recorders: Recorders,
  silent: ReadonlySet<string> = NONE,
): void {
  const { streams } = relay;
  switch (frame.t) {
    case "stdout":
    case "stderr": {
      if (silent.has(frame.t)) return;
      const before = stream.c.out;
      dataToClient(relay, stream, frame);
      if ((relay.att.get(stream.ws) as ClientAttachment).out > before) {
        recorders.of(stream)?.output(frame.data);
      }
      return;
    }
    case "credit":
      creditToClient(relay, stream, frame.bytes);
      streams.send(stream.ws, { t: "credit", bytes: frame.bytes });
      return;
    case "exit":
      streams.send(stream.ws, {
        t: "exit",
        code: frame.code,
        ...(frame.signal ? { signal: frame.signal } : {}),
      });
      streams.finish(
        stream.ws,
        { exitCode: frame.code, signal: frame.signal ?? null, reason: null },
        "exited",
      );
      return;
    case "error":
    case "close":
      endFromAgent(relay, stream, frame);
      return;
    default:
      return;
  }
}

const NONE: ReadonlySet<string> = new Set();

/** A process stream's stdin from the client, within the agent's credit (end of input included). */
export function stdinToAgent(
  relay: Relay,
  stream: ClientStream,
  agent: WebSocket,
  frame: Extract<ClientToServer, { t: "stdin" }>,
): void {
  if (!countToAgent(relay, stream, "stdin", frame.data.length)) return;
  relay.link.send(agent, {
    t: "stdin",
    sid: stream.c.sid,
    data: frame.data,
    ...(frame.eof ? { eof: true } : {}),
  });
}

/** Counts `size` bytes against `window`; the breach's message when they exceed it. */
function _receive(window: ReturnType<typeof clientGrants>, size: number, what: string): string | undefined {
  try {
    window.receive(size, what);
    return undefined;
  } catch (err) {
    if (err instanceof ProtocolError) return err.message;
    throw err;
  }
}
