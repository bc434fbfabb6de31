// One simulated host of the fleet bench (fleet-sim.ts runs thousands in one process): the agent's side
// of the real protocol and nothing else. It dials /v1/agent/connect, checks the signed challenge
// against the control plane key it pinned at enrollment, answers with a signed hello (capability
// PROTOCOL_CAPABILITY, with a kx as the agent offers one), pings at the interval `ready` announces,
// answers the control plane's pings, and answers every exec.open with `exit 0` (what `true` does), so
// fan-out can be measured. It redials after every close with the agent's own backoff and full jitter
// (agent/backoff.ts, the attempt reset after a connection that was ready, as agent/connection.ts does).
// Every frame in both directions is sealed and opened with schema/protocol: nothing is skipped.
import WebSocket from "ws";
import { backoffDelay } from "../../agent/backoff.ts";
import {
  type AgentFrame,
  type CborArray,
  COSE_SIGN1_TAG,
  type ConnectionId,
  type ControlPlaneFrame,
  DataKey,
  decodeCbor,
  decodeFrame,
  KeyExchange,
  openFrame,
  PROTOCOL_CAPABILITY,
  SequenceWindow,
  type Signer,
  sealFrame,
  type Verifier,
} from "../../schema/protocol/index.ts";

export interface SimIdentity {
  hostId: string;
  name: string;
  signer: Signer;
}

/** What every host of one simulated fleet shares, and where it reports. */
export interface SimContext {
  url: string;
  cp: Verifier;
  /** A heartbeat answered: ms from the ping's send to its pong's arrival. */
  onPong(ms: number): void;
  onReady(host: SimHost): void;
  onDown(host: SimHost, why: string): void;
  /** A dial or handshake that failed before ready (counted, not fatal: the host redials). */
  onFailure(why: string): void;
  onExec(): void;
}

const FACTS = {
  hostname: "sim",
  os: "linux",
  arch: "x64",
  cpus: 1,
  memory: 1024,
  runtime: "node",
  runtimeVersion: process.versions.node,
};

function _peekChallengeConn(bytes: Uint8Array): ConnectionId {
  const sign1 = decodeCbor(bytes, { tag: COSE_SIGN1_TAG }) as CborArray;
  const frame = decodeFrame(sign1[2] as Uint8Array, "cp>agent");
  if (frame.t !== "challenge") throw new Error(`expected challenge, got ${frame.t}`);
  return frame.conn;
}

export class SimHost {
  ready = false;
  #ws: WebSocket | undefined;
  #conn: ConnectionId | undefined;
  #seq = 0;
  #guard = new SequenceWindow(0);
  #kx: KeyExchange | undefined;
  #nonce: Uint8Array | undefined;
  #receiveKey: DataKey | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #redial: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #stopped = true;
  /** Messages are opened one at a time, in arrival order (seq order). */
  #inbox: Promise<void> = Promise.resolve();
  #outbox: Promise<void> = Promise.resolve();

  constructor(
    readonly id: SimIdentity,
    private readonly ctx: SimContext,
  ) {}

  /** Starts dialling (and redialling, until stop). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#attempt = 0;
    this.#dial();
  }

  /** Closes the connection with 1000 and stops redialling. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#redial);
    this.#down("stopped");
    try {
      this.#ws?.close(1000, "simulated agent stopping");
    } catch {}
    this.#ws = undefined;
  }

  #dial(): void {
    this.#conn = undefined;
    this.#seq = 0;
    this.#guard = new SequenceWindow(0);
    this.#receiveKey = undefined;
    this.#inbox = Promise.resolve();
    this.#outbox = Promise.resolve();
    let wasReady = false;
    let failed: string | undefined;
    const ws = new WebSocket(
      `${this.ctx.url.replace(/^http/, "ws")}/v1/agent/connect?host=${this.id.hostId}`,
      {
        perMessageDeflate: false,
        handshakeTimeout: 15_000,
      },
    );
    this.#ws = ws;
    ws.binaryType = "nodebuffer";
    ws.on("message", (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.#inbox = this.#inbox.then(() =>
        this.#receive(ws, bytes).catch((err: unknown) => {
          failed = err instanceof Error ? err.message : String(err);
          ws.terminate();
        }),
      );
    });
    ws.on("error", (err) => {
      failed ??= err.message;
    });
    ws.on("close", (code, reason) => {
      if (this.#ws !== ws) return;
      wasReady = this.ready;
      const why = failed ?? `closed ${code} ${reason.toString()}`;
      if (!wasReady) this.ctx.onFailure(why);
      this.#down(why);
      this.#ws = undefined;
      if (this.#stopped) return;
      // agent/connection.ts: the attempt count starts again after a connection that got to ready.
      if (wasReady) this.#attempt = 0;
      this.#redial = setTimeout(() => this.#dial(), backoffDelay(this.#attempt++));
    });
  }

  #down(why: string): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    if (this.ready) {
      this.ready = false;
      this.ctx.onDown(this, why);
    }
  }

  async #receive(ws: WebSocket, bytes: Uint8Array): Promise<void> {
    // The challenge names the connection its own signature is bound to: read it, then verify.
    const conn = this.#conn ?? _peekChallengeConn(bytes);
    const frame = await openFrame(bytes, this.ctx.cp, {
      connectionId: conn,
      direction: "cp>agent",
      guard: this.#guard,
      ...(this.#receiveKey ? { dataKey: this.#receiveKey } : {}),
    });
    await this.#onFrame(ws, conn, frame);
  }

  async #onFrame(ws: WebSocket, conn: ConnectionId, frame: ControlPlaneFrame): Promise<void> {
    switch (frame.t) {
      case "challenge": {
        if (this.#conn !== undefined) throw new Error("a second challenge");
        this.#conn = conn;
        this.#nonce = frame.nonce;
        this.#kx = await KeyExchange.start();
        this.#send(ws, {
          t: "hello",
          host: this.id.hostId,
          nonce: frame.nonce,
          version: "0.0.0-fleet-sim",
          cap: PROTOCOL_CAPABILITY,
          facts: FACTS,
          kx: this.#kx.publicKey,
        } as Omit<AgentFrame, "seq">);
        return;
      }
      case "ready": {
        if (frame.kx === undefined || this.#kx === undefined) throw new Error("ready without kx");
        const keys = await this.#kx.finish(frame.kx, {
          connectionId: conn,
          nonce: this.#nonce!,
          agentKx: this.#kx.publicKey,
          cpKx: frame.kx,
        });
        this.#receiveKey = await DataKey.fromBytes(keys["cp>agent"]);
        this.#kx = undefined;
        this.ready = true;
        const every = frame.heartbeat;
        this.#heartbeat = setInterval(() => this.#send(ws, { t: "ping", time: Date.now() }), every);
        this.ctx.onReady(this);
        return;
      }
      case "pong":
        this.ctx.onPong(Date.now() - frame.time);
        return;
      case "ping":
        this.#send(ws, { t: "pong", time: frame.time });
        return;
      case "exec.open":
        // What `true` does: no output, exit 0.
        this.ctx.onExec();
        this.#send(ws, { t: "exit", sid: frame.sid, code: 0 });
        return;
      case "tcp.open":
      case "pty.open":
      case "logs.open":
        this.#send(ws, { t: "close", sid: frame.sid, reason: "not served by the simulated fleet" });
        return;
      default:
        return; // config, workloads, jobs, credit, close: nothing a simulated host acts on
    }
  }

  /** Seals `frame` with the next seq and sends it after every frame sealed before it. */
  #send(ws: WebSocket, frame: Record<string, unknown>): void {
    const conn = this.#conn;
    if (conn === undefined) return;
    const seq = ++this.#seq;
    const sealed = sealFrame({ ...frame, seq } as AgentFrame, this.id.signer, {
      connectionId: conn,
      direction: "agent>cp",
    });
    this.#outbox = this.#outbox.then(async () => {
      const bytes = await sealed;
      if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
    });
  }
}
