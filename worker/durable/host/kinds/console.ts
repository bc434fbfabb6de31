// console: a VM's serial console on the host (frames.ts console.open, capability 10). `write` and
// `read` attach live (the agent's console.opened says which mode the stream got, relayed to the
// client as `attached`); `history` reads the console's bounded history, followed or not. A session
// of kind console (history: logs) and an audit event, vm.console or vm.logs, like exec's.
//
// Input goes only from a stream the agent granted stdin credit, which it does for the writer alone:
// a reader's stdin is a credit breach here, before it reaches the host.

import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import { CloseCode } from "../../../../schema/protocol/index.ts";
import { countToAgent, creditToAgent, creditToClient, dataToClient, endFromAgent } from "./client-stream.ts";
import type { AgentStreamFrame, ClientOpen, ClientStream, Opened, Relay, StreamKind } from "./kind.ts";

/** The agent's errors that mean the console is not there: the client's socket closes with 4404. */
const NOT_THERE = new Set(["vm_unknown", "vm_not_running", "vm_stopped", "vm_console_unsupported"]);

export class ConsoleKind implements StreamKind<ClientOpen<"console">, Opened> {
  /** console.open came in capability 10 (frames.ts). */
  readonly capability = 10;

  constructor(private readonly relay: Relay) {}

  open({ req, sid, credit }: ClientOpen<"console">): Opened {
    const { vm, mode, lines, follow } = req;
    const history = mode === "history";
    return {
      frame: { t: "console.open", sid, vm, mode, lines, follow, credit },
      session: {
        argv: [vm],
        action: history ? "vm.logs" : "vm.console",
        details: history ? { vm, lines, follow } : { vm, mode },
        kind: history ? "logs" : "console",
      },
    };
  }

  fromAgent(frame: AgentStreamFrame, stream: ClientStream | undefined): void {
    if (!stream) return;
    const { streams } = this.relay;
    switch (frame.t) {
      case "console.opened":
        streams.send(stream.ws, {
          t: "attached",
          mode: frame.mode,
          ...(frame.reason ? { reason: frame.reason } : {}),
        });
        return;
      case "stdout":
        dataToClient(this.relay, stream, frame);
        return;
      case "credit":
        creditToClient(this.relay, stream, frame.bytes);
        streams.send(stream.ws, { t: "credit", bytes: frame.bytes });
        return;
      case "exit":
        streams.send(stream.ws, { t: "exit", code: frame.code });
        streams.finish(stream.ws, { exitCode: frame.code, signal: null, reason: null }, "exited");
        return;
      case "error": {
        // The console's errors end it: the agent's close follows for a stream already over.
        streams.send(stream.ws, { t: "error", code: frame.code, message: frame.message });
        streams.end(stream.ws, { exitCode: null, signal: null, reason: frame.message });
        const code = NOT_THERE.has(frame.code) ? CloseCode.NOT_FOUND : CloseCode.NORMAL;
        stream.ws.close(code, frame.code);
        return;
      }
      case "close":
        endFromAgent(this.relay, stream, frame);
        return;
      default:
        return;
    }
  }

  fromClient(stream: ClientStream, agent: WebSocket, frame: ClientToServer): void {
    const { c } = stream;
    switch (frame.t) {
      case "stdin":
        if (!countToAgent(this.relay, stream, "stdin", frame.data.length)) return;
        this.relay.link.send(agent, { t: "stdin", sid: c.sid, data: frame.data });
        return;
      case "credit":
        creditToAgent(this.relay, stream, agent, frame.bytes);
        return;
      default:
        this.relay.streams.refuse(stream.ws, c, `${frame.t} is not valid on a console stream`);
        return;
    }
  }

  end(): void {}
}
