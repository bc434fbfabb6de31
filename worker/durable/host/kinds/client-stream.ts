// What exec and tcp streams share: a client socket on one end, the agent on the other, and credit
// counted both ways at the relay (credit.ts). Each kind's module calls these for its own frames.
import { ProtocolError } from "../../../../schema/protocol/index.ts";
import type { ClientAttachment } from "../attachments.ts";
import { clientGrants, hostGrants } from "../credit.ts";
import type { AgentStreamFrame, ClientStream, Relay } from "./kind.ts";

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
