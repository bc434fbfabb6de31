// pty: a process on a pseudo-terminal on the host (frames.ts pty.open, capability 8). Like exec, but
// the terminal's output is stdout alone and the client may resize it; when the tenant records its
// sessions (tenants.recording), the output is recorded to R2 as it is relayed (worker/recordings/).

import type { ClientToServer } from "../../../../schema/protocol/client-frames.ts";
import { ApiError } from "../../../http/api-error.ts";
import type { AgentAttachment, ClientAttachment } from "../attachments.ts";
import { creditToAgent, processFromAgent, stdinToAgent } from "./client-stream.ts";
import type { AgentStreamFrame, ClientOpen, ClientStream, Opened, Relay, StreamKind } from "./kind.ts";
import { Recorders } from "./recorders.ts";

/** The agent capability that has pty.open and resize (frames.ts). */
const PTY_CAPABILITY = 8;
export const DEFAULT_TERM = "xterm-256color";
/** A terminal's output is stdout alone: stderr from an agent means nothing on a pty stream. */
const TERMINAL_SILENT: ReadonlySet<string> = new Set(["stderr"]);

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
    if (stream) processFromAgent(this.relay, stream, frame, this.#recorders, TERMINAL_SILENT);
  }

  fromClient(stream: ClientStream, agent: WebSocket, frame: ClientToServer): void {
    const { c } = stream;
    switch (frame.t) {
      case "stdin":
        stdinToAgent(this.relay, stream, agent, frame);
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
