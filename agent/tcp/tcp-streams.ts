// All TCP streams of one connection to the control plane, both kinds:
//
//   odd sid, opened by the control plane   tcp.open {target} → the target policy decides where
//                                          (agent/policy) → connect → tcp.opened {credit: window},
//                                          or close {reason}: the policy's, or why the connect failed
//   even sid, opened by the agent          a mesh listener accepted a connection for route R →
//                                          tcp.open {target: R, credit: window} → tcp.opened, or
//                                          close {reason} (logged, the connection is closed)
//
// From there on both are the same spliced stream (tcp-stream.ts).
import {
  type CloseFrame,
  type CreditFrame,
  type DataFrame,
  type FinFrame,
  ProtocolError,
  type TcpOpenedFrame,
  type TcpOpenFrame,
} from "../../schema/protocol/index.ts";
import { oneLine } from "../errors.ts";
import type { Send } from "../outgoing.ts";
import { type PolicyConfig, type Resolver, resolveStreamTarget, type Service } from "../policy/index.ts";
import type { Runtime, TcpConn } from "../runtime/index.ts";
import { CONNECT_TIMEOUT_MS, connectFailure, connectWithin, hostPort } from "./connect.ts";
import { TCP_WINDOW_BYTES, TcpStream } from "./tcp-stream.ts";

/** How long a mesh stream waits for the control plane's tcp.opened before giving up. */
export const MESH_OPEN_TIMEOUT_MS = 30_000;

/** The frames that belong to tcp streams. */
export type TcpFrame = TcpOpenFrame | TcpOpenedFrame | DataFrame | FinFrame | CreditFrame | CloseFrame;

/** Where streams may go: the target policy's inputs (host-network.ts). */
export interface StreamTargets {
  readonly policy: PolicyConfig;
  readonly resolve: Resolver;
  services(): ReadonlyMap<string, Service>;
}

export interface TcpStreamsOptions {
  runtime: Pick<Runtime, "connect">;
  send: Send;
  targets: StreamTargets;
  log: (line: string) => void;
  window?: number;
  connectTimeoutMs?: number;
  meshOpenTimeoutMs?: number;
}

interface _Mesh {
  route: string;
  opened: boolean;
  timer: ReturnType<typeof setTimeout>;
}

const LAST_EVEN_SID = 0xfffffffe;

export class TcpStreams {
  readonly #options: Required<TcpStreamsOptions>;
  readonly #streams = new Map<number, TcpStream>();
  readonly #meshes = new Map<number, _Mesh>();
  /** Even ids are the agent's (frames.ts), never reused on a connection. */
  #nextSid = 2;

  constructor(options: TcpStreamsOptions) {
    this.#options = {
      window: TCP_WINDOW_BYTES,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      meshOpenTimeoutMs: MESH_OPEN_TIMEOUT_MS,
      ...options,
    };
  }

  /** Streams not ended yet. */
  get size(): number {
    return this.#streams.size;
  }

  has(sid: number): boolean {
    return this.#streams.has(sid);
  }

  /**
   * Acts on one frame. Frames for a stream that already ended are ignored (they crossed its end on the
   * wire). Throws ProtocolError for a tcp.open on a stream id in use.
   */
  handle(frame: TcpFrame): void {
    if (frame.t === "tcp.open") {
      if (this.#streams.has(frame.sid)) {
        throw new ProtocolError("unexpected_frame", `Cannot open stream ${frame.sid}: it is already open`);
      }
      this.#open(frame);
      return;
    }
    const stream = this.#streams.get(frame.sid);
    if (stream === undefined) return;
    switch (frame.t) {
      case "tcp.opened":
        this.#opened(stream, frame.credit);
        return;
      case "data":
        stream.data(frame.data);
        return;
      case "fin":
        stream.fin();
        return;
      case "credit":
        stream.credit(frame.bytes);
        return;
      case "close": {
        const mesh = this.#meshes.get(frame.sid);
        if (mesh !== undefined && (frame.reason !== undefined || !mesh.opened)) {
          const what = mesh.opened ? "stream closed by the control plane" : "the control plane refused it";
          const why = frame.reason !== undefined ? `: ${oneLine(frame.reason).slice(0, 300)}` : "";
          this.#options.log(`mesh route ${mesh.route}: ${what}${why}`);
        }
        stream.close();
        return;
      }
    }
  }

  /** A mesh listener accepted `conn` for `route` (listening on `listen`): open a stream for it. */
  openMesh(route: string, listen: string, conn: TcpConn): void {
    const { log, send, window } = this.#options;
    if (this.#nextSid > LAST_EVEN_SID) {
      log(`mesh route ${route}: out of stream ids on this connection; closed a connection on ${listen}`);
      conn.close();
      return;
    }
    const sid = this.#nextSid;
    this.#nextSid += 2;
    const stream = this.#add(sid);
    const timer = setTimeout(() => {
      if (this.#meshes.get(sid)?.opened !== false) return;
      const ms = this.#options.meshOpenTimeoutMs;
      log(`mesh route ${route}: no answer from the control plane within ${ms} ms`);
      stream.fail(`no tcp.opened within ${ms} ms`);
    }, this.#options.meshOpenTimeoutMs);
    this.#meshes.set(sid, { route, opened: false, timer });
    send({ t: "tcp.open", sid, target: route, credit: window });
    stream.attach(conn, `the client on ${listen}`, window);
  }

  /** Ends the mesh streams opened for `route`, telling the control plane `reason`; how many there were. */
  closeRoute(route: string, reason: string): number {
    let closed = 0;
    for (const [sid, mesh] of this.#meshes) {
      if (mesh.route !== route) continue;
      this.#streams.get(sid)?.fail(reason);
      closed += 1;
    }
    return closed;
  }

  /** Tears every stream down, sending nothing more (the link is gone). */
  closeAll(): void {
    for (const stream of [...this.#streams.values()]) stream.abort();
    this.#streams.clear();
  }

  #add(sid: number): TcpStream {
    const stream = new TcpStream({
      sid,
      send: this.#options.send,
      window: this.#options.window,
      onEnd: () => {
        if (this.#streams.get(sid) === stream) this.#streams.delete(sid);
        const mesh = this.#meshes.get(sid);
        if (mesh !== undefined) clearTimeout(mesh.timer);
        this.#meshes.delete(sid);
      },
    });
    this.#streams.set(sid, stream);
    return stream;
  }

  #opened(stream: TcpStream, credit: number): void {
    const mesh = this.#meshes.get(stream.sid);
    if (mesh === undefined || mesh.opened) return; // tcp.opened answers only our own opens, once
    mesh.opened = true;
    clearTimeout(mesh.timer);
    stream.credit(credit);
    stream.begin();
  }

  #open(frame: TcpOpenFrame): void {
    const stream = this.#add(frame.sid);
    stream.credit(frame.credit);
    void this.#connect(stream, frame.target).catch((error) => {
      // A bug here must not leave the control plane waiting for an answer that never comes.
      const why = error instanceof Error ? error.message : String(error);
      stream.fail(`internal error in the agent: ${oneLine(why)}`);
    });
  }

  async #connect(stream: TcpStream, target: string | number): Promise<void> {
    const { targets, runtime, log, send, window } = this.#options;
    const decision = await resolveStreamTarget(target, targets.services(), targets.policy, targets.resolve);
    if (stream.over) return;
    if (!decision.ok) {
      log(
        `refused a tcp stream to ${typeof target === "number" ? `port ${target}` : `'${target}'`}: ${decision.reason}`,
      );
      return stream.fail(decision.reason); // verbatim: it is the answer the person who asked gets
    }
    const { address, port } = decision;
    let conn: TcpConn;
    try {
      conn = await connectWithin(runtime, address, port, this.#options.connectTimeoutMs);
    } catch (error) {
      stream.fail(connectFailure(error, address, port));
      return;
    }
    if (stream.over) return conn.close(); // closed by the control plane while connecting
    send({ t: "tcp.opened", sid: stream.sid, credit: window });
    stream.attach(conn, hostPort(address, port), window);
    stream.begin();
  }
}
