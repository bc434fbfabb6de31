// tcp: a byte stream to a service (or loopback port) the host allows (frames.ts tcp.open … fin). Data
// flows both ways within credit; each side half-closes with fin, and the stream ends once both have.
import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import type { ClientAttachment } from "../attachments.ts";
import { countToAgent, creditToAgent, creditToClient, dataToClient, endFromAgent } from "./client-stream.ts";
import type { AgentStreamFrame, ClientOpen, ClientStream, Opened, Relay, StreamKind } from "./kind.ts";

export class TcpKind implements StreamKind<ClientOpen<"tcp">, Opened> {
  constructor(private readonly relay: Relay) {}

  open({ req: { target, via }, sid, credit }: ClientOpen<"tcp">): Opened {
    return {
      frame: { t: "tcp.open", sid, target: /^\d+$/.test(target) ? Number(target) : target, credit },
      session: { argv: [target], action: "host.tcp", details: { target }, kind: via ?? "tcp" },
    };
  }

  fromAgent(frame: AgentStreamFrame, stream: ClientStream | undefined): void {
    if (!stream) return;
    const { streams, att } = this.relay;
    switch (frame.t) {
      case "data": {
        dataToClient(this.relay, stream, frame);
        return;
      }
      case "tcp.opened":
        creditToClient(this.relay, stream, frame.credit);
        streams.send(stream.ws, { t: "opened", credit: frame.credit });
        return;
      case "credit":
        creditToClient(this.relay, stream, frame.bytes);
        streams.send(stream.ws, { t: "credit", bytes: frame.bytes });
        return;
      case "fin": {
        streams.send(stream.ws, { t: "fin" });
        const c = att.update<ClientAttachment>(stream.ws, (x) => {
          x.finHost = true;
        });
        if (c.finClient) this.#finished(stream.ws);
        return;
      }
      case "error":
      case "close": {
        endFromAgent(this.relay, stream, frame);
        return;
      }
      default:
        // exec's frames (stdout, stderr, exit) mean nothing on a tcp stream.
        return;
    }
  }

  fromClient(stream: ClientStream, agent: WebSocket, frame: ClientToServer): void {
    const { ws, c } = stream;
    switch (frame.t) {
      case "credit": {
        creditToAgent(this.relay, stream, agent, frame.bytes);
        return;
      }
      case "data":
        if (c.finClient) break;
        if (!countToAgent(this.relay, stream, "data", frame.data.length)) return;
        this.relay.link.send(agent, { t: "data", sid: c.sid, data: frame.data });
        return;
      case "fin": {
        if (c.finClient) break;
        const after = this.relay.att.update<ClientAttachment>(ws, (x) => {
          x.finClient = true;
        });
        this.relay.link.send(agent, { t: "fin", sid: c.sid });
        if (after.finHost) this.#finished(ws);
        return;
      }
    }
    this.relay.streams.refuse(ws, c, `${frame.t} is not valid on this tcp stream now`);
  }

  end(): void {}

  /** Both sides sent fin: the stream is over. */
  #finished(ws: WebSocket): void {
    this.relay.streams.finish(ws, { exitCode: null, signal: null, reason: null }, "done");
  }
}
