// The streams of one connection, every kind in one table, as the Worker's HostDO keeps them: an open
// frame goes to the kind registered for it (session.ts: exec.open → exec/, tcp.open → tcp/), which adds
// the stream under its id; every later frame with that id goes to that stream, whatever its type, and
// the stream ignores types that are not its kind's. Mesh streams, which the agent opens itself, are
// added by their kind (tcp/tcp-streams.ts) the same way. A new kind is one folder and one entry here.
import { type ControlPlaneFrame, type FrameOf, ProtocolError } from "../schema/protocol/index.ts";

// ## Kinds

/** The frames that open a stream, one per kind: a new kind is one entry here (and its folder). */
type OpenType = "exec.open" | "pty.open" | "tcp.open" | "logs.open" | "console.open";

/** Each open frame type's frame, as the protocol defines it. */
type OpenFrames = { [T in OpenType]: FrameOf<T> };

/** The frames that open a stream. */
export type OpenFrame = OpenFrames[OpenType];

/**
 * Which kind each open frame goes to, typed from the protocol's own frames. Every kind has an entry;
 * `undefined` is a kind this table does not take (its opens are refused, as a test harness may want).
 */
export type StreamKinds = { readonly [T in OpenType]: StreamKind<OpenFrames[T]> | undefined };

/** A stream kind: opens a stream for its open frame, and adds it to the table (or refuses it). */
export interface StreamKind<F extends OpenFrame> {
  open: (frame: F) => void;
}

// ## Streams

/** The frame types on a stream once it is open, whatever its kind. */
const STREAM_TYPES = ["stdin", "signal", "resize", "credit", "close", "tcp.opened", "data", "fin"] as const;
const STREAM_TYPE_SET: ReadonlySet<string> = new Set(STREAM_TYPES);

/** The frames on a stream once it is open. */
export type StreamFrame = FrameOf<(typeof STREAM_TYPES)[number]>;

/** One live stream, of whatever kind. */
export interface Stream {
  /** A frame for this stream; types that are not its kind's are ignored (they cannot belong to it). */
  receive(frame: StreamFrame): void;
  /** The link is gone: end at once, sending nothing more. */
  abort(): void;
}

function _isStreamFrame(frame: OpenFrame | StreamFrame): frame is StreamFrame {
  return STREAM_TYPE_SET.has(frame.t);
}

// ## The table

export class StreamTable {
  readonly #streams = new Map<number, Stream>();
  #kinds: StreamKinds | undefined;
  /** The open frame types, from the registered table's keys. */
  #openTypes: ReadonlySet<string> = new Set();

  /** The kind table, set once by the session that owns this table. */
  register(kinds: StreamKinds): void {
    this.#kinds = kinds;
    this.#openTypes = new Set(Object.keys(kinds));
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
  takes(frame: ControlPlaneFrame): frame is OpenFrame | StreamFrame {
    return this.#openTypes.has(frame.t) || STREAM_TYPE_SET.has(frame.t);
  }

  /**
   * Acts on one frame. Frames for a stream that already ended are ignored (they crossed its end on the
   * wire). Throws ProtocolError for an open on a stream id in use, or of a kind this agent lacks.
   */
  receive(frame: OpenFrame | StreamFrame): void {
    if (_isStreamFrame(frame)) this.#streams.get(frame.sid)?.receive(frame);
    else this.#open(frame.t, frame);
  }

  /** Ends every stream, sending nothing more (the link is gone). */
  abortAll(): void {
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of streams) stream.abort();
  }

  /** Opens `frame`'s stream with the kind registered for its type `t` (passed apart so the two correlate). */
  #open<T extends OpenType>(t: T, frame: OpenFrames[T]): void {
    if (this.#streams.has(frame.sid)) {
      throw new ProtocolError("unexpected_frame", `Cannot open stream ${frame.sid}: it is already open`);
    }
    const kind: StreamKind<OpenFrames[T]> | undefined = this.#kinds?.[t];
    if (kind === undefined) {
      throw new ProtocolError("unexpected_frame", `Cannot accept ${t}: this agent has no such stream kind`);
    }
    kind.open(frame);
  }
}
