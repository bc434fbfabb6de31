// pty: a process on a pseudo-terminal on the host (frames.ts pty.open, capability 8). Like exec, but
// the terminal's output is stdout alone and the client may resize it; when the tenant records its
// sessions (tenants.recording), the output is recorded to R2 as it is relayed (worker/recordings/).

import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import { ApiError } from "../../../http/api-error.ts";
import type { AgentAttachment, ClientAttachment } from "../attachments.ts";
import { countToAgent, creditToAgent, creditToClient, dataToClient, endFromAgent } from "./client-stream.ts";
import type { AgentStreamFrame, ClientOpen, ClientStream, Opened, Relay, StreamKind } from "./kind.ts";
import { Recorders } from "./recorders.ts";

/** The agent capability that has pty.open and resize (frames.ts). */
const PTY_CAPABILITY = 8;
export const DEFAULT_TERM = "xterm-256color";

export class PtyKind implements StreamKind<ClientOpen<"pty">, Opened> {
  /** Recorders of this object's live recorded streams; rebuilt from the attachment after an eviction. */
  readonly #recorders: Recorders;

  constructor(private readonly relay: Relay) {
    this.#recorders = new Recorders(relay);
  }

  open({ req: { spec, record }, sid, credit }: ClientOpen<"pty">): Opened {
    const agent = this.relay.link.ready();
    const cap = agent ? (this.relay.att.get(agent) as AgentAttachment).cap : undefined;
    if (cap === undefined || cap < PTY_CAPABILITY) {
      throw new ApiError(
        409,
        "agent_too_old",
        `this host's agent speaks capability ${cap ?? "?"}, and terminals need ${PTY_CAPABILITY}: upgrade the agent`,
      );
    }
    const term = spec.term ?? DEFAULT_TERM;
    const argv = spec.argv ?? [];
    return {
      frame: {
        t: "pty.open",
        sid,
        ...(spec.argv ? { argv: spec.argv } : {}),
        ...(spec.cwd ? { cwd: spec.cwd } : {}),
        ...(spec.env ? { env: spec.env } : {}),
        cols: spec.cols,
        rows: spec.rows,
        ...(spec.term ? { term: spec.term } : {}),
        credit,
      },
      session: {
        argv,
        action: "host.pty",
        details: { argv, cols: spec.cols, rows: spec.rows, recorded: record },
      },
      ...(record
        ? { rec: { at: Date.now(), cols: spec.cols, rows: spec.rows, term, parts: 0, bytes: 0 } }
        : {}),
    };
  }

  fromAgent(frame: AgentStreamFrame, stream: ClientStream | undefined): void {
    if (!stream) return;
    const { streams } = this.relay;
    switch (frame.t) {
      case "stdout": {
        const before = stream.c.out;
        dataToClient(this.relay, stream, frame);
        // Recorded only when relayed: a breach of the client's credit ends the stream instead.
        if ((this.relay.att.get(stream.ws) as ClientAttachment).out > before) {
          this.#recorders.of(stream)?.output(frame.data);
        }
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
      case "close":
        endFromAgent(this.relay, stream, frame);
        return;
      default:
        // stderr (a terminal has none), tcp's frames: nothing on a pty stream.
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
      case "resize":
        this.relay.link.send(agent, { t: "resize", sid: c.sid, cols: frame.cols, rows: frame.rows });
        this.#recorders.of(stream)?.resize(frame.cols, frame.rows);
        return;
      case "signal":
        this.relay.link.send(agent, { t: "signal", sid: c.sid, name: frame.name });
        return;
      case "credit":
        creditToAgent(this.relay, stream, agent, frame.bytes);
        return;
      default:
        this.relay.streams.refuse(stream.ws, c, `${frame.t} is not valid on this pty stream`);
        return;
    }
  }

  /** The stream ended, however it did: its recording is finished and written whole. */
  ended(c: ClientAttachment): void {
    this.#recorders.ended(c);
  }

  end(): void {}
}
