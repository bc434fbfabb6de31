// Exec streams (frames.ts, "Exec streams"), the kind: the control plane opens one with exec.open, the
// owner's exec policy (exec-policy.ts) decides whether it may run, and the stream (exec-stream.ts) runs
// in the connection's stream table until its exit.

import type { ExecOpenFrame } from "../../schema/protocol/index.ts";
import type { Send } from "../outgoing.ts";
import type { Runtime } from "../runtime/index.ts";
import type { StreamKind, StreamTable } from "../stream-table.ts";
import { type ExecPolicy, execRefusal } from "./exec-policy.ts";
import { STDIN_WINDOW_BYTES } from "./exec-stdin.ts";
import { ExecStream } from "./exec-stream.ts";

/**
 * After the process exits, how long a read from its pipe may wait before the stream ends anyway: a
 * background grandchild (`sh -c 'daemon &'`) can hold the pipe open for ever.
 */
export const DRAIN_GRACE_MS = 1000;

export interface ExecStreamsOptions {
  runtime: Pick<Runtime, "spawn" | "envAll">;
  send: Send;
  /** The connection's streams, where each exec stream lives until it ends. */
  table: StreamTable;
  /** What the host's owner allows (exec-policy.ts); every argv by default. */
  policy?: ExecPolicy;
  stdinWindow?: number;
  drainGraceMs?: number;
}

/** The exec kind of one connection. */
export class ExecStreams implements StreamKind<ExecOpenFrame> {
  readonly #options: Required<ExecStreamsOptions>;
  readonly #running = new Set<ExecStream>();

  constructor(options: ExecStreamsOptions) {
    this.#options = {
      stdinWindow: STDIN_WINDOW_BYTES,
      drainGraceMs: DRAIN_GRACE_MS,
      policy: { mode: "any" },
      ...options,
    };
  }

  /** Runs `frame`'s argv, or closes the stream with the policy's refusal. */
  open(frame: ExecOpenFrame): void {
    const { table, send, runtime, stdinWindow, drainGraceMs, policy } = this.#options;
    const refusal = execRefusal(policy, frame);
    if (refusal !== undefined) {
      // One close and no error frame before it: the client would hang up on the error, and its
      // session could then end as "client disconnected" instead of with the refusal.
      send({ t: "close", sid: frame.sid, reason: refusal });
      return;
    }
    const exec: ExecStream = new ExecStream(frame, {
      runtime,
      send,
      stdinWindow,
      drainGraceMs,
      onClose: () => table.delete(frame.sid, exec),
    });
    table.add(frame.sid, exec);
    this.#running.add(exec);
    void exec.done.then(() => {
      this.#running.delete(exec);
      table.delete(frame.sid, exec);
    });
  }

  /** Resolves once every process started so far has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.#running].map((exec) => exec.done));
  }
}
