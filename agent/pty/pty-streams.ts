// PTY streams (frames.ts, "PTY streams"), the kind: the control plane opens one with pty.open; without
// argv it is the login shell (login-shell.ts). A shell is an exec of that shell, so the owner's exec
// policy (exec/exec-policy.ts) decides on the argv that would run: none with --no-exec, only listed
// ones with --exec-allow. The pty itself is the runtime's (Bun) or util-linux's script (script-pty.ts).
import type { PtyOpenFrame } from "../../schema/protocol/index.ts";
import { DRAIN_GRACE_MS, type ExecPolicy, execRefusal, STDIN_WINDOW_BYTES } from "../exec/index.ts";
import type { Send } from "../outgoing.ts";
import type { Runtime } from "../runtime/index.ts";
import type { StreamKind, StreamTable } from "../stream-table.ts";
import { loginShell } from "./login-shell.ts";
import { PtyStream } from "./pty-stream.ts";
import { scriptSpawnPty } from "./script-pty.ts";

const DEFAULT_TERM = "xterm-256color";

export interface PtyStreamsOptions {
  runtime: Pick<Runtime, "spawn" | "spawnPty" | "envAll" | "env">;
  send: Send;
  table: StreamTable;
  policy?: ExecPolicy;
}

export class PtyStreams implements StreamKind<PtyOpenFrame> {
  readonly #o: PtyStreamsOptions;

  constructor(options: PtyStreamsOptions) {
    this.#o = options;
  }

  open(frame: PtyOpenFrame): void {
    const { runtime, send, table, policy = { mode: "any" } } = this.#o;
    const argv = frame.argv ?? loginShell((name) => runtime.env(name));
    const refusal = execRefusal(policy, { argv, ...(frame.env ? { env: frame.env } : {}) });
    if (refusal !== undefined) {
      send({ t: "close", sid: frame.sid, reason: refusal });
      return;
    }
    const env = { ...runtime.envAll(), ...frame.env, TERM: frame.term ?? DEFAULT_TERM };
    const options = {
      ...(frame.cwd !== undefined ? { cwd: frame.cwd } : {}),
      env,
      cols: frame.cols,
      rows: frame.rows,
    };
    const stream: PtyStream = new PtyStream(frame, {
      spawn: (args) =>
        runtime.spawnPty ? runtime.spawnPty(args, options) : scriptSpawnPty(runtime, args, options),
      argv,
      send,
      stdinWindow: STDIN_WINDOW_BYTES,
      drainGraceMs: DRAIN_GRACE_MS,
      onClose: () => table.delete(frame.sid, stream),
    });
    table.add(frame.sid, stream);
    void stream.done.then(() => table.delete(frame.sid, stream));
  }
}
