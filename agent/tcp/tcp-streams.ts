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
import type { TcpOpenFrame } from "../../schema/protocol/index.ts";
import { oneLine } from "../errors.ts";
import type { Send } from "../outgoing.ts";
import { type PolicyConfig, type Resolver, resolveStreamTarget, type Service } from "../policy/index.ts";
import type { Runtime, TcpConn } from "../runtime/index.ts";
import type { StreamFrame, StreamKind, StreamTable } from "../stream-table.ts";
import { CONNECT_TIMEOUT_MS, connectFailure, connectWithin, hostPort } from "./connect.ts";
import { TCP_WINDOW_BYTES, TcpStream } from "./tcp-stream.ts";

/** How long a mesh stream waits for the control plane's tcp.opened before giving up. */
export const MESH_OPEN_TIMEOUT_MS = 30_000;

/** Where streams may go: the target policy's inputs (host-network.ts). */
export interface StreamTargets {
  readonly policy: PolicyConfig;
  readonly resolve: Resolver;
  services(): ReadonlyMap<string, Service>;
}

export interface TcpStreamsOptions {
  runtime: Pick<Runtime, "connect">;
  send: Send;
  /** The connection's streams, where each tcp stream lives until it ends. */
  table: StreamTable;
  targets: StreamTargets;
  log: (line: string) => void;
  window?: number;
  connectTimeoutMs?: number;
  meshOpenTimeoutMs?: number;
}

interface _Mesh {
  stream: TcpStream;
  route: string;
  opened: boolean;
  timer: ReturnType<typeof setTimeout>;
}

const LAST_EVEN_SID = 0xfffffffe;

/** The tcp kind of one connection: its streams to this host's services, and its mesh streams. */
export class TcpStreams implements StreamKind<TcpOpenFrame> {
  readonly #options: Required<TcpStreamsOptions>;
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

  /** Connects to `frame`'s target, if the target policy allows it. */
  open(frame: TcpOpenFrame): void {
    this.#open(frame);
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
    this.#meshes.set(sid, { stream, route, opened: false, timer });
    send({ t: "tcp.open", sid, target: route, credit: window });
    stream.attach(conn, `the client on ${listen}`, window);
  }

  /** Ends the mesh streams opened for `route`, telling the control plane `reason`; how many there were. */
  closeRoute(route: string, reason: string): number {
    let closed = 0;
    for (const mesh of this.#meshes.values()) {
      if (mesh.route !== route) continue;
      mesh.stream.fail(reason);
      closed += 1;
    }
    return closed;
  }

  #add(sid: number): TcpStream {
    const { table } = this.#options;
    const stream: TcpStream = new TcpStream({
      sid,
      send: this.#options.send,
      window: this.#options.window,
      onEnd: () => {
        table.delete(sid, entry);
        const mesh = this.#meshes.get(sid);
        if (mesh !== undefined) clearTimeout(mesh.timer);
        this.#meshes.delete(sid);
      },
    });
    const entry = {
      receive: (frame: StreamFrame) => this.#receive(stream, frame),
      abort: () => stream.abort(),
    };
    table.add(sid, entry);
    return stream;
  }

  /** A frame on one of this kind's streams; the types of other kinds are ignored. */
  #receive(stream: TcpStream, frame: StreamFrame): void {
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
