// Logs streams (frames.ts logs.open), the kind: the control plane opens one for an app by name; the
// stream (logs-stream.ts) reads that app's captured output from its files in the connection's table.
import type { LogsOpenFrame } from "../../schema/protocol/index.ts";
import type { Apps } from "../apps/index.ts";
import type { Send } from "../outgoing.ts";
import type { StreamKind, StreamTable } from "../stream-table.ts";
import { LogsStream } from "./logs-stream.ts";

export interface LogsStreamsOptions {
  send: Send;
  table: StreamTable;
  apps: Pick<Apps, "logPath"> | undefined;
}

export class LogsStreams implements StreamKind<LogsOpenFrame> {
  readonly #options: LogsStreamsOptions;

  constructor(options: LogsStreamsOptions) {
    this.#options = options;
  }

  open(frame: LogsOpenFrame): void {
    const { send, table, apps } = this.#options;
    const stdout = apps?.logPath(frame.name, "stdout");
    const stderr = apps?.logPath(frame.name, "stderr");
    if (stdout === undefined || stderr === undefined) {
      send({ t: "close", sid: frame.sid, reason: `no app '${frame.name}' runs on this host` });
      return;
    }
    const stream: LogsStream = new LogsStream(frame, {
      send,
      paths: { stdout, stderr },
      onEnd: () => table.delete(frame.sid, stream),
    });
    table.add(frame.sid, stream);
  }
}
