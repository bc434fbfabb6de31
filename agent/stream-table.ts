// The streams of one connection, every kind in one table, as the Worker's HostDO keeps them: an open
// frame goes to the kind registered for it (session.ts: exec.open → exec/, tcp.open → tcp/), which adds
// the stream under its id; every later frame with that id goes to that stream, whatever its type, and
// the stream ignores types that are not its kind's. Mesh streams, which the agent opens itself, are
// added by their kind (tcp/tcp-streams.ts) the same way. A new kind is one folder and one entry here.
import {
  type CloseFrame,
  type ControlPlaneFrame,
  type CreditFrame,
  type DataFrame,
  type ExecOpenFrame,
  type FinFrame,
  ProtocolError,
  type SignalFrame,
  type StdinFrame,
  type TcpOpenedFrame,
  type TcpOpenFrame,
} from "../schema/protocol/index.ts";

/** The frames that open a stream. */
export type OpenFrame = ExecOpenFrame | TcpOpenFrame;

/** The frames on a stream once it is open. */
export type StreamFrame =
  | StdinFrame
  | SignalFrame
  | CreditFrame
  | CloseFrame
  | TcpOpenedFrame
  | DataFrame
  | FinFrame;

/** One live stream, of whatever kind. */
export interface Stream {
  /** A frame for this stream; types that are not its kind's are ignored (they cannot belong to it). */
  receive(frame: StreamFrame): void;
  /** The link is gone: end at once, sending nothing more. */
  abort(): void;
}

/** A stream kind: opens a stream for its open frame, and adds it to the table (or refuses it). */
export interface StreamKind<F extends OpenFrame> {
  open(frame: F): void;
}

/** Which kind each open frame goes to. */
export interface StreamKinds {
  "exec.open"?: StreamKind<ExecOpenFrame>;
  "tcp.open"?: StreamKind<TcpOpenFrame>;
}

const OPEN_TYPES: ReadonlySet<string> = new Set<OpenFrame["t"]>(["exec.open", "tcp.open"]);
const STREAM_TYPES: ReadonlySet<string> = new Set<StreamFrame["t"]>([
  "stdin",
  "signal",
  "credit",
  "close",
  "tcp.opened",
  "data",
  "fin",
]);

export class StreamTable {
  readonly #streams = new Map<number, Stream>();
  #kinds: StreamKinds = {};

  /** The kind table, set once by the session that owns this table. */
  register(kinds: StreamKinds): void {
    this.#kinds = kinds;
  }

  /** Streams not ended yet. */
  get size(): number {
    return this.#streams.size;
  }

  has(sid: number): boolean {
    return this.#streams.has(sid);
  }

  get(sid: number): Stream | undefined {
    return this.#streams.get(sid);
  }

  add(sid: number, stream: Stream): void {
    this.#streams.set(sid, stream);
  }

  /** Forgets `sid`, if it is still `stream`'s (a later stream may have reused a closed id). */
  delete(sid: number, stream: Stream): void {
    if (this.#streams.get(sid) === stream) this.#streams.delete(sid);
  }

  /** Whether `frame` is one this table takes: an open, or a frame on a stream. */
  static takes(frame: ControlPlaneFrame): frame is OpenFrame | StreamFrame {
    return OPEN_TYPES.has(frame.t) || STREAM_TYPES.has(frame.t);
  }

  /**
   * Acts on one frame. Frames for a stream that already ended are ignored (they crossed its end on the
   * wire). Throws ProtocolError for an open on a stream id in use, or of a kind this agent lacks.
   */
  receive(frame: OpenFrame | StreamFrame): void {
    switch (frame.t) {
      case "exec.open":
        this.#open(frame, this.#kinds["exec.open"]);
        return;
      case "tcp.open":
        this.#open(frame, this.#kinds["tcp.open"]);
        return;
      default:
        this.#streams.get(frame.sid)?.receive(frame);
    }
  }

  /** Ends every stream, sending nothing more (the link is gone). */
  abortAll(): void {
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of streams) stream.abort();
  }

  #open<F extends OpenFrame>(frame: F, kind: StreamKind<F> | undefined): void {
    if (this.#streams.has(frame.sid)) {
      throw new ProtocolError("unexpected_frame", `Cannot open stream ${frame.sid}: it is already open`);
    }
    if (kind === undefined) {
      throw new ProtocolError(
        "unexpected_frame",
        `Cannot accept ${frame.t}: this agent has no such stream kind`,
      );
    }
    kind.open(frame);
  }
}
