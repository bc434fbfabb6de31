// exec: a process on the host (frames.ts exec.open … exit). The client sends stdin and signals; the
// agent sends stdout, stderr and the exit, each side within the credit the other granted. An exec
// opened with `record` (the route refused it when the tenant records nothing) has its output recorded
// as a terminal session's is (worker/recordings/): stdout and stderr as a terminal would show them
// interleaved, never stdin, in an 80x24 frame since a pipe has no size.

import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import type { ClientAttachment } from "../attachments.ts";
import { creditToAgent, processFromAgent, stdinToAgent } from "./client-stream.ts";
import type { AgentStreamFrame, ClientOpen, ClientStream, Opened, Relay, StreamKind } from "./kind.ts";
import { DEFAULT_TERM } from "./pty.ts";
import { Recorders } from "./recorders.ts";

/** The frame a recorded exec's asciicast header names (asciicast v2 needs one; a pipe has none). */
const RECORDED_COLS = 80;
const RECORDED_ROWS = 24;

export class ExecKind implements StreamKind<ClientOpen<"exec">, Opened> {
  readonly #recorders: Recorders;

  constructor(private readonly relay: Relay) {
    this.#recorders = new Recorders(relay, true);
  }

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
      session: {
        argv: spec.argv,
        action: "host.exec",
        details: { argv: spec.argv, ...(spec.record ? { recorded: true } : {}) },
      },
      ...(spec.record
        ? {
            rec: {
              at: Date.now(),
              cols: RECORDED_COLS,
              rows: RECORDED_ROWS,
              term: DEFAULT_TERM,
              parts: 0,
              bytes: 0,
            },
          }
        : {}),
    };
  }

  fromAgent(frame: AgentStreamFrame, stream: ClientStream | undefined): void {
    if (stream) processFromAgent(this.relay, stream, frame, this.#recorders);
  }

  fromClient(stream: ClientStream, agent: WebSocket, frame: ClientToServer): void {
    const { c } = stream;
    switch (frame.t) {
      case "stdin":
        stdinToAgent(this.relay, stream, agent, frame);
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

  /** The stream ended, however it did: a recording is finished and written whole. */
  ended(c: ClientAttachment): void {
    this.#recorders.ended(c);
  }

  end(): void {}
}
