// The recorders of one kind's recorded streams (pty sessions, execs run with `record`), by session:
// made on a stream's first output, rebuilt from its attachment (`c.rec`) after an eviction, finished
// when the stream ends however it ends (worker/recordings/).

import type { SessionId } from "../../../../schema/ids.ts";
import { Recorder } from "../../../recordings/index.ts";
import type { ClientAttachment } from "../attachments.ts";
import type { ClientStream, Relay } from "./kind.ts";

export class Recorders {
  readonly #recorders = new Map<SessionId, Recorder>();

  constructor(
    private readonly relay: Relay,
    /** A pipe's output as a terminal shows it: `\n` becomes `\r\n` (an exec has no pty to do that). */
    private readonly crlf = false,
  ) {}

  /** The stream's recorder, when it is recorded and still running. */
  of({ ws, c }: ClientStream): Recorder | undefined {
    if (!c.rec || c.done) return undefined;
    let recorder = this.#recorders.get(c.session);
    if (!recorder) {
      recorder = this.#make(c, ws);
      this.#recorders.set(c.session, recorder);
    }
    return recorder;
  }

  /** The stream ended: its recording is finished and written whole. */
  ended(c: ClientAttachment): void {
    const recorder = this.#recorders.get(c.session) ?? (c.rec ? this.#make(c) : undefined);
    this.#recorders.delete(c.session);
    recorder?.finish();
  }

  #make(c: ClientAttachment, ws?: WebSocket): Recorder {
    return new Recorder(c.rec!, {
      bucket: this.relay.env.ARTIFACTS,
      tenantId: c.tenantId,
      session: c.session,
      crlf: this.crlf,
      save: (state) => {
        if (!ws) return;
        this.relay.att.update<ClientAttachment>(ws, (x) => {
          x.rec = state;
        });
      },
      background: this.relay.background,
    });
  }
}
