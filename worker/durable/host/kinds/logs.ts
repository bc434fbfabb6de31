// logs: an app's captured output read from its files on the host (frames.ts logs.open). The agent
// sends stdout and stderr within the credit the client granted, and exit 0 when a stream that does not
// follow has sent the last lines; the client sends only credit (and closes when it has seen enough).

import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import { creditToAgent, creditToClient, dataToClient, endFromAgent } from "./client-stream.ts";
import type { AgentStreamFrame, ClientOpen, ClientStream, Opened, Relay, StreamKind } from "./kind.ts";

export class LogsKind implements StreamKind<ClientOpen<"logs">, Opened> {
  /** logs.open came in capability 6 (frames.ts). */
  readonly capability = 6;

  constructor(private readonly relay: Relay) {}

  open({ req, sid, credit }: ClientOpen<"logs">): Opened {
    const { app, lines, follow, since } = req;
    return {
      frame: {
        t: "logs.open",
        sid,
        name: app,
        lines,
        follow,
        ...(since !== undefined ? { since } : {}),
        credit,
      },
      session: {
        argv: [app],
        action: "app.logs",
        details: {
          app,
          lines,
          follow,
          ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
        },
      },
    };
  }

  fromAgent(frame: AgentStreamFrame, stream: ClientStream | undefined): void {
    if (!stream) return;
    switch (frame.t) {
      case "stdout":
      case "stderr":
        dataToClient(this.relay, stream, frame);
        return;
      case "credit":
        creditToClient(this.relay, stream, frame.bytes);
        return;
      case "exit":
        this.relay.streams.send(stream.ws, { t: "exit", code: frame.code });
        this.relay.streams.finish(stream.ws, { exitCode: frame.code, signal: null, reason: null }, "exited");
        return;
      case "error":
      case "close":
        endFromAgent(this.relay, stream, frame);
        return;
      default:
        return;
    }
  }

  fromClient(stream: ClientStream, agent: WebSocket, frame: ClientToServer): void {
    if (frame.t === "credit") {
      creditToAgent(this.relay, stream, agent, frame.bytes);
      return;
    }
    this.relay.streams.refuse(stream.ws, stream.c, `${frame.t} is not valid on a logs stream`);
  }

  end(): void {}
}
