// exec: a process on the host (frames.ts exec.open … exit). The client sends stdin and signals; the
// agent sends stdout, stderr and the exit, each side within the credit the other granted.

import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import { countToAgent, creditToAgent, creditToClient, dataToClient, endFromAgent } from "./client-stream.ts";
import type { AgentStreamFrame, ClientOpen, ClientStream, Opened, Relay, StreamKind } from "./kind.ts";

export class ExecKind implements StreamKind<ClientOpen<"exec">, Opened> {
  constructor(private readonly relay: Relay) {}

  open({ req: { spec }, sid, credit }: ClientOpen<"exec">): Opened {
    return {
      frame: {
        t: "exec.open",
        sid,
        argv: spec.argv,
        ...(spec.cwd ? { cwd: spec.cwd } : {}),
        ...(spec.env ? { env: spec.env } : {}),
        ...(spec.timeout ? { timeout: spec.timeout } : {}),
        credit,
      },
      session: { argv: spec.argv, action: "host.exec", details: { argv: spec.argv } },
    };
  }

  fromAgent(frame: AgentStreamFrame, stream: ClientStream | undefined): void {
    if (!stream) return;
    const { streams } = this.relay;
    switch (frame.t) {
      case "stdout":
      case "stderr": {
        dataToClient(this.relay, stream, frame);
        return;
      }
      case "credit":
        creditToClient(this.relay, stream, frame.bytes);
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
      case "close": {
        endFromAgent(this.relay, stream, frame);
        return;
      }
      default:
        // tcp's frames (data, fin, tcp.opened) mean nothing on an exec stream.
        return;
    }
  }

  fromClient(stream: ClientStream, agent: WebSocket, frame: ClientToServer): void {
    const { c } = stream;
    switch (frame.t) {
      case "stdin":
        if (!countToAgent(this.relay, stream, "stdin", frame.data.length)) return;
        this.relay.link.send(agent, {
          t: "stdin",
          sid: c.sid,
          data: frame.data,
          ...(frame.eof ? { eof: true } : {}),
        });
        return;
      case "signal": {
        this.relay.link.send(agent, { t: "signal", sid: c.sid, name: frame.name });
        return;
      }
      case "credit": {
        creditToAgent(this.relay, stream, agent, frame.bytes);
        return;
      }
      default: {
        this.relay.streams.refuse(stream.ws, c, `${frame.t} is not valid on this exec stream now`);
        return;
      }
    }
  }

  end(): void {}
}
