// A hand-driven agent connection for adversarial tests: it speaks the real protocol (schema/protocol)
// but lets the test forge, tamper, replay and reorder frames. Not an agent; a test's adversary.
import WebSocket from "ws";
import { enrollmentMessage } from "../../schema/protocol/enroll.ts";
import {
  type AgentFrame,
  type CborArray,
  type ChallengeFrame,
  COSE_SIGN1_TAG,
  type ConnectionId,
  type ControlPlaneFrame,
  decodeCbor,
  decodeFrame,
  formatHostKey,
  generateKeyPair,
  openFrame,
  PROTOCOL_CAPABILITY,
  parseControlPlaneKey,
  Signer,
  sealFrame,
  Verifier,
} from "../../schema/protocol/index.ts";
import type { Outpost } from "../../sdk/index.ts";
import { raw } from "./stack.ts";

export interface Identity {
  hostId: string;
  name: string;
  signer: Signer;
  cp: Verifier;
}

/** Enrolls a host over HTTP with a key the test holds. */
export async function enrollIdentity(
  url: string,
  client: Outpost,
  name: string,
  where = { cluster: "prod", site: "fra1" },
): Promise<Identity> {
  const { token } = await client.tokens.create(where);
  const keys = await generateKeyPair();
  const signer = await Signer.fromSeed(keys.seed);
  const publicKey = formatHostKey(keys.publicKey);
  const time = Date.now();
  const signature = Buffer.from(
    await signer.sign(enrollmentMessage({ token, name, publicKey, time })),
  ).toString("base64url");
  const res = await raw({ url }, "POST", "/v1/enroll", { body: { token, name, publicKey, time, signature } });
  if (res.status !== 201) throw new Error(`enroll failed: ${JSON.stringify(res.body)}`);
  const body = res.body as unknown as { host: { id: string }; controlPlane: { publicKey: string } };
  return {
    hostId: body.host.id,
    name,
    signer,
    cp: new Verifier(parseControlPlaneKey(body.controlPlane.publicKey)),
  };
}

function peekConnection(bytes: Uint8Array): ConnectionId {
  const sign1 = decodeCbor(bytes, { tag: COSE_SIGN1_TAG }) as CborArray;
  const frame = decodeFrame(sign1[2] as Uint8Array, "cp>agent");
  if (frame.t !== "challenge") throw new Error(`expected challenge, got ${frame.t}`);
  return frame.conn;
}

export const FACTS = {
  hostname: "adversary",
  os: "linux",
  arch: "x64",
  cpus: 1,
  memory: 1024,
  runtime: "bun",
  runtimeVersion: "1.0.0",
};

export class RawAgent {
  readonly closed: Promise<{ code: number; reason: string }>;
  #queue: Uint8Array[] = [];
  #waiters: Array<(m: Uint8Array) => void> = [];
  #seq = 0;
  #cpSeq = 0;
  conn!: ConnectionId;
  challenge!: ChallengeFrame;

  private constructor(
    readonly ws: WebSocket,
    readonly id: Identity,
  ) {
    ws.on("message", (data: Buffer) => {
      const m = new Uint8Array(data);
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async connect(url: string, id: Identity): Promise<RawAgent> {
    // closeTimeout (ws ≥ 8.18, not in its types yet): workerd may keep the TCP connection open after the
    // close frames crossed, and ws would wait 30 s before it reports the code the server sent.
    const options: WebSocket.ClientOptions & { closeTimeout: number } = { closeTimeout: 500 };
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/agent/connect?host=${id.hostId}`, options);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const agent = new RawAgent(ws, id);
    const first = await agent.receive();
    if (first.t !== "challenge") throw new Error(`expected challenge, got ${first.t}`);
    agent.challenge = first;
    agent.conn = first.conn;
    return agent;
  }

  next(): Promise<Uint8Array> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async receive(): Promise<ControlPlaneFrame> {
    for (;;) {
      const bytes = await this.next();
      // The challenge names the connection its own signature is bound to: read it, then verify.
      const conn = this.conn ?? peekConnection(bytes);
      const frame = await openFrame(bytes, this.id.cp, { connectionId: conn, direction: "cp>agent" });
      this.#cpSeq = frame.seq;
      // A host with no workloads is told so after ready (capability 6): nothing for this adversary.
      if (frame.t === "workloads" && frame.workloads.length === 0) continue;
      return frame;
    }
  }

  /** Seals `frame` with the next seq (or `seq`), by `signer` (default: this host's key). */
  seal(
    frame: Omit<AgentFrame, "seq">,
    opts: { seq?: number; signer?: Signer; conn?: ConnectionId } = {},
  ): Promise<Uint8Array> {
    const seq = opts.seq ?? ++this.#seq;
    return sealFrame({ ...frame, seq } as AgentFrame, opts.signer ?? this.id.signer, {
      connectionId: opts.conn ?? this.conn,
      direction: "agent>cp",
    });
  }

  helloFrame(): Omit<AgentFrame, "seq"> {
    return {
      t: "hello",
      host: this.id.hostId,
      nonce: this.challenge.nonce,
      version: "0.0.0-test",
      cap: PROTOCOL_CAPABILITY,
      facts: FACTS,
    } as Omit<AgentFrame, "seq">;
  }

  /** hello, then waits for ready and the config that follows it. */
  async handshake(): Promise<void> {
    this.send(await this.seal(this.helloFrame()));
    const ready = await this.receive();
    if (ready.t !== "ready") throw new Error(`expected ready, got ${ready.t}`);
    const config = await this.receive();
    if (config.t !== "config") throw new Error(`expected config, got ${config.t}`);
  }

  send(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  #sending: Promise<void> = Promise.resolve();

  /** Seals and sends `frame` after every frame sent this way before it (seq order is send order). */
  sendFrame(frame: Omit<AgentFrame, "seq">): Promise<void> {
    const sealed = this.seal(frame);
    this.#sending = this.#sending.then(async () => {
      const bytes = await sealed;
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
    });
    return this.#sending;
  }

  /** The next frame of type `t` (on stream `sid`, if given), skipping every other frame on the way. */
  async receiveFrame<T extends ControlPlaneFrame["t"]>(
    t: T,
    sid?: number,
  ): Promise<Extract<ControlPlaneFrame, { t: T }>> {
    for (;;) {
      const frame = await this.receive();
      if (frame.t === t && (sid === undefined || ("sid" in frame && frame.sid === sid)))
        return frame as Extract<ControlPlaneFrame, { t: T }>;
    }
  }

  /** Pings every `ms` so the HostDO keeps this connection (it closes silent ones after 2 heartbeats). */
  keepAlive(ms = 1000): void {
    const timer = setInterval(() => void this.sendFrame({ t: "ping", time: Date.now() } as never), ms);
    void this.closed.then(() => clearInterval(timer));
  }

  get lastCpSeq(): number {
    return this.#cpSeq;
  }
}
