// One console stream (frames.ts console.open): a VM's serial console through its hub (console-hub.ts).
// `write` / `read`: console.opened with the mode granted, the last `lines` lines of history, then live
// output as stdout (and, for the writer, stdin typed on the console, under a stdin window granted as
// the socket takes it); the stream ends when the VM stops. `history`: the last `lines` lines, then exit
// 0, or live output for as long as the client follows (across VM restarts).
//
// Output goes out only within the control plane's credit. What does not fit waits in this stream's
// backlog, CONSOLE_BACKLOG_BYTES at most: beyond it the oldest output is dropped for this stream alone
// and the client is told how much (the history file has it), so a client that never grants credit
// costs the agent that much, and the guest and the other streams never wait for it.
import { CONSOLE_BACKLOG_BYTES, type ConsoleOpenFrame, SendWindow } from "../../schema/protocol/index.ts";
import { ExecStdin, STDIN_WINDOW_BYTES } from "../exec/index.ts";
import type { Send } from "../outgoing.ts";
import type { Stream, StreamFrame } from "../stream-table.ts";
import type { ConsoleHub, ConsoleListener } from "./console-hub.ts";

const ENCODER = new TextEncoder();

export interface ConsoleStreamOptions {
  hub: ConsoleHub;
  send: Send;
  onEnd: () => void;
  /** For tests: a smaller backlog. */
  backlog?: number;
}

export class ConsoleStream implements Stream, ConsoleListener {
  readonly sid: number;
  readonly done: Promise<void>;
  readonly #o: ConsoleStreamOptions;
  readonly #open: ConsoleOpenFrame;
  readonly #window: SendWindow;
  readonly #backlog: Uint8Array[] = [];
  #queued = 0;
  #skipped = 0;
  #pumping: Promise<void> | undefined;
  #stdin: ExecStdin | undefined;
  #attached = false;
  /** console.opened went out; a promotion before it waits for it (the client hears read, then write). */
  #opened = false;
  #promotedEarly = false;
  #ended = false;

  constructor(open: ConsoleOpenFrame, options: ConsoleStreamOptions) {
    this.sid = open.sid;
    this.#open = open;
    this.#o = options;
    this.#window = new SendWindow({ credit: open.credit });
    this.done = this.#run().catch((error) => {
      const why = error instanceof Error ? error.message : String(error);
      this.#fail("internal", `internal error in the agent: ${why}`);
    });
  }

  receive(frame: StreamFrame): void {
    switch (frame.t) {
      case "credit":
        this.#window.grant(frame.bytes);
        return;
      case "stdin":
        if (this.#stdin) this.#stdin.receive(frame);
        else this.#fail("read_only", "this console stream is read-only: it may not send stdin");
        return;
      case "close":
        this.abort();
        return;
      default:
        return;
    }
  }

  abort(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#o.hub.detach(this);
    this.#window.close();
    this.#stdin?.close();
    this.#o.onEnd();
  }

  // ## ConsoleListener

  output(bytes: Uint8Array): void {
    if (this.#ended || bytes.length === 0) return;
    const limit = this.#o.backlog ?? CONSOLE_BACKLOG_BYTES;
    let chunk = bytes;
    if (chunk.length > limit) {
      this.#skipped += chunk.length - limit;
      chunk = chunk.subarray(chunk.length - limit);
    }
    this.#backlog.push(chunk);
    this.#queued += chunk.length;
    while (this.#queued > limit) {
      const dropped = this.#backlog.shift()!;
      this.#queued -= dropped.length;
      this.#skipped += dropped.length;
    }
    if (this.#attached) void this.#pump();
  }

  stopped(): void {
    if (this.#ended || this.#open.mode === "history") return; // a follower waits for the VM to return
    void this.#drained().then(() =>
      this.#fail("vm_stopped", `VM '${this.#open.vm}' stopped: its console is gone`),
    );
  }

  promoted(): void {
    if (this.#ended || this.#stdin) return;
    if (!this.#opened) {
      this.#promotedEarly = true;
      return;
    }
    // Told as the first attach was (console.opened, relayed as `attached`), then its stdin credit.
    this.#o.send({
      t: "console.opened",
      sid: this.sid,
      mode: "write",
      reason: `the writer detached: this session writes to ${this.#open.vm}'s console now`,
    });
    this.#takeInput();
  }

  #takeInput(): void {
    const { hub } = this.#o;
    const input = new WritableStream<Uint8Array>({ write: (bytes) => hub.write(this, bytes) });
    this.#stdin = new ExecStdin(this.sid, input, STDIN_WINDOW_BYTES, this.#send, (reason) =>
      this.#fail("credit_exceeded", reason),
    );
  }

  // ## Running

  async #run(): Promise<void> {
    const { hub } = this.#o;
    const { mode, lines, follow, vm } = this.#open;
    if (mode !== "history") {
      await hub.ensure();
      if (this.#ended) return;
      if (!hub.connected) {
        const instance = hub.instance;
        if (instance && !instance.consoleSocket) {
          return this.#fail(
            "vm_console_unsupported",
            `VM '${vm}' has an output-only console (its driver writes it to a file): read it with outpost vm logs`,
          );
        }
        return this.#fail(
          "vm_not_running",
          `VM '${vm}' is not running, so it has no console: start it, or read what it printed with outpost vm logs`,
        );
      }
    }
    if (mode === "history") void hub.ensure();
    if (mode === "history" && !follow) {
      const history = await hub.history.tail(lines);
      await this.#emit(history);
      if (!this.#ended) {
        this.#o.send({ t: "exit", sid: this.sid, code: 0 });
        this.#end();
      }
      return;
    }
    const attached = await hub.attach(this, { write: mode === "write", lines });
    if (this.#ended) {
      hub.detach(this);
      return;
    }
    if (mode !== "history") {
      this.#o.send({
        t: "console.opened",
        sid: this.sid,
        mode: attached.mode,
        ...(attached.reason ? { reason: attached.reason } : {}),
      });
    }
    this.#opened = true;
    if (attached.mode === "write") this.#takeInput();
    else if (this.#promotedEarly) this.promoted();
    // History first, then what came since the attach (already in the backlog).
    await this.#emit(attached.history);
    this.#attached = true;
    await this.#pump();
  }

  /** Sends the backlog within the credit, with a note where output was dropped. */
  #pump(): Promise<void> {
    // Set before the loop runs: with nothing to send it would finish (and clear this) synchronously.
    if (this.#pumping) return this.#pumping;
    if (this.#ended || this.#backlog.length === 0) return Promise.resolve();
    this.#pumping = (async () => {
      await Promise.resolve();
      try {
        while (!this.#ended && this.#backlog.length > 0) {
          if (this.#skipped > 0) {
            const n = this.#skipped;
            this.#skipped = 0;
            await this.#emit(
              ENCODER.encode(
                `\r\n[outpost: ${n} bytes of console output skipped: this client read too slowly; outpost vm logs has them]\r\n`,
              ),
            );
          }
          const chunk = this.#backlog.shift()!;
          this.#queued -= chunk.length;
          await this.#emit(chunk);
        }
      } finally {
        this.#pumping = undefined;
      }
    })();
    return this.#pumping;
  }

  /** Resolves when what was in the backlog has gone out (or the stream ended). */
  async #drained(): Promise<void> {
    while (!this.#ended && (this.#backlog.length > 0 || this.#pumping)) {
      await (this.#pumping ?? this.#pump());
    }
  }

  async #emit(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0 || this.#ended) return;
    try {
      await this.#window.send(bytes, (data) => this.#send({ t: "stdout", sid: this.sid, data }));
    } catch {
      // the stream ended while waiting for credit
    }
  }

  #fail(code: string, message: string): void {
    if (this.#ended) return;
    this.#send({ t: "error", sid: this.sid, code, message: message.slice(0, 1024) });
    this.#send({ t: "close", sid: this.sid, reason: message.slice(0, 1024) });
    this.abort();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#o.hub.detach(this);
    this.#window.close();
    this.#o.onEnd();
  }

  #send: Send = (frame) => {
    if (!this.#ended) this.#o.send(frame);
  };
}
