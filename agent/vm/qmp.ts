// A client for QEMU's machine protocol (QMP, docs/interop/qmp-spec.rst): JSON objects, one per line,
// over the unix socket that `-qmp unix:<path>,server=on,wait=off` opens. The server greets, the client
// negotiates with `qmp_capabilities`, then every command gets exactly one `return` or `error`, in
// order (no `id` needed: we never pipeline past QEMU's in-order answers), and `event`s may come in
// between at any time.
//
// node:net, which Bun and Deno both implement natively: neither runtime's own API is needed for a
// unix stream socket, and the seam stays for what differs between them.

import { createConnection, type Socket } from "node:net";

/** What QEMU answered with `{"error": {"class", "desc"}}`. */
class QmpError extends Error {
  override name = "QmpError";
  readonly qmpClass: string;

  constructor(command: string, qmpClass: string, desc: string) {
    super(`QEMU refused ${command}: ${desc}`);
    this.qmpClass = qmpClass;
  }
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

/** A line longer than this is not QMP: the connection is dropped rather than buffered without end. */
const MAX_LINE_BYTES = 1 << 20;

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class QmpClient {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  readonly #listeners = new Set<(event: QmpEvent) => void>();
  #buffer = "";
  #closed: Error | undefined;
  #greeted: () => void = () => {};
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.#receive(chunk));
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.#fail(new Error("QEMU's QMP socket closed"));
        resolve();
      });
    });
    socket.on("error", (error) => this.#fail(error));
  }

  /** Connects to the QMP socket at `path`, reads the greeting and leaves negotiation mode. */
  static async connect(path: string, timeoutMs = 5_000): Promise<QmpClient> {
    const socket = createConnection({ path });
    const client = new QmpClient(socket);
    const greeted = new Promise<void>((resolve) => {
      client.#greeted = resolve;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        greeted,
        client.closed.then(() => {
          throw client.#closed;
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no QMP greeting on ${path} within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      await client.execute("qmp_capabilities");
    } catch (error) {
      socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** Runs `command` and resolves with its `return` value; rejects with QmpError when QEMU refuses. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ command, resolve: resolve as (v: unknown) => void, reject });
      this.#socket.write(
        `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
      );
    });
  }

  /** Calls `listener` for every event until the returned function is called. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#socket.destroy();
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    if (this.#buffer.length > MAX_LINE_BYTES && !this.#buffer.includes("\n")) {
      this.#fail(new Error("QMP sent a line over 1 MiB"));
      this.#socket.destroy();
      return;
    }
    let newline = this.#buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line) this.#message(line);
      newline = this.#buffer.indexOf("\n");
    }
  }

  #message(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not JSON: nothing QMP sends, so nothing to act on
    }
    if ("QMP" in message) {
      this.#greeted();
    } else if ("event" in message) {
      const event = {
        event: String(message.event),
        data: message.data as Record<string, unknown> | undefined,
      };
      for (const listener of this.#listeners) listener(event);
    } else if ("return" in message) {
      this.#pending.shift()?.resolve(message.return);
    } else if ("error" in message) {
      const pending = this.#pending.shift();
      const error = (message.error ?? {}) as { class?: unknown; desc?: unknown };
      pending?.reject(
        new QmpError(pending.command, String(error.class ?? "GenericError"), String(error.desc ?? "")),
      );
    }
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    for (const p of this.#pending.splice(0)) p.reject(error);
  }
}
