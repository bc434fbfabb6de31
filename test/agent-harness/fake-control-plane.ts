// A fake control plane (Node, ws) for the agent's connection tests. The real one runs here too and
// test/agent.test.ts drives the agent against it; this fake exists for what the real one never does
// on purpose: sign with the wrong key, send garbage or a replayed sequence number, fall silent, send
// frames out of order. It speaks the real protocol with the real schema/protocol code, one link per
// agent connection, and leaves every decision to the test.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type WebSocket, WebSocketServer } from "ws";
import { AGENT_CONNECT_PATH } from "../../schema/protocol/enroll.ts";
import {
  type AgentFrame,
  type ConnectionId,
  type ControlPlaneFrame,
  DataKey,
  formatControlPlaneKey,
  formatSecretKey,
  generateKeyPair,
  type HelloFrame,
  type HostId,
  KeyExchange,
  type KeyId,
  type KeyPair,
  newConnectionId,
  newHostId,
  openFrame,
  PROTOCOL_CAPABILITY,
  SequenceWindow,
  Signer,
  sealFrame,
  Verifier,
} from "../../schema/protocol/index.ts";

type Unnumbered = ControlPlaneFrame extends infer F
  ? F extends ControlPlaneFrame
    ? Omit<F, "seq">
    : never
  : never;

export interface FakeLink {
  /** The `host` query parameter the agent dialled with. */
  readonly hostParam: string | null;
  readonly conn: ConnectionId;
  /** The control plane's key id. */
  readonly kid: KeyId;
  /** Verified frames from the agent, in order. */
  readonly received: AgentFrame[];
  /** Messages from the agent that did not open (bad signature, bad seq, …). */
  readonly errors: string[];
  /** How the socket closed: the agent's code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Answer the agent's pings (default true). */
  autoPong: boolean;
  /** Sends a frame, numbered by this link unless `seq` is given, signed by the cp key unless `signer`. */
  send(frame: Unnumbered, opts?: { seq?: number; signer?: Signer }): Promise<void>;
  sendRaw(data: Uint8Array | string): void;
  /** The next frame of type `t` (from all received so far, after `from`), waiting up to `ms`. */
  next<T extends AgentFrame["t"]>(t: T, ms?: number): Promise<Extract<AgentFrame, { t: T }>>;
  /** Calls `listener` with every frame verified from now on; returns the unsubscribe function. */
  onFrame(listener: (frame: AgentFrame) => void): () => void;
  /** challenge → hello → ready; returns the hello. */
  /** `cap`: the capability the challenge claims (default PROTOCOL_CAPABILITY), to play an older one. */
  handshake(opts?: { heartbeat?: number; cap?: number }): Promise<HelloFrame>;
  close(code: number, reason?: string): void;
}

export class FakeControlPlane {
  readonly url: string;
  readonly signer: Signer;
  readonly hostId: HostId;
  readonly hostKeys: KeyPair;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #pending: FakeLink[] = [];
  #waiters: ((link: FakeLink) => void)[] = [];
  #links: FakeLink[] = [];

  private constructor(url: string, signer: Signer, hostKeys: KeyPair, server: Server, wss: WebSocketServer) {
    this.url = url;
    this.signer = signer;
    this.hostKeys = hostKeys;
    this.hostId = newHostId();
    this.#server = server;
    this.#wss = wss;
    wss.on("connection", (ws, req) => {
      const link = this.#link(ws, new URL(req.url ?? "/", "http://x").searchParams.get("host"));
      this.#links.push(link);
      const waiter = this.#waiters.shift();
      if (waiter) waiter(link);
      else this.#pending.push(link);
    });
  }

  static async start(): Promise<FakeControlPlane> {
    const server = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server, path: AGENT_CONNECT_PATH });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const cp = await generateKeyPair();
    return new FakeControlPlane(url, await Signer.fromSeed(cp.seed), await generateKeyPair(), server, wss);
  }

  /** A state dir enrolled with this control plane, as `outpost-agent enroll` would leave it. */
  stateDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "outpost-agent-fake-"));
    writeFileSync(join(dir, "host.key"), `${formatSecretKey(this.hostKeys.seed)}\n`, { mode: 0o600 });
    const state = {
      hostId: this.hostId,
      name: "web01",
      cluster: "prod",
      site: "fra1",
      url: this.url,
      controlPlaneKey: formatControlPlaneKey(this.signer.publicKey),
      enrolledAt: new Date().toISOString(),
    };
    writeFileSync(join(dir, "state.json"), JSON.stringify(state), { mode: 0o600 });
    return dir;
  }

  /** The next connection from the agent. */
  nextLink(ms = 15_000): Promise<FakeLink> {
    const ready = this.#pending.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no connection from the agent within ${ms} ms`));
      }, ms);
      const waiter = (link: FakeLink) => {
        clearTimeout(timer);
        resolve(link);
      };
      this.#waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #link(ws: WebSocket, hostParam: string | null): FakeLink {
    const conn = newConnectionId();
    const signer = this.signer;
    const verifier = new Verifier(this.hostKeys.publicKey);
    const guard = new SequenceWindow();
    const received: AgentFrame[] = [];
    const errors: string[] = [];
    const listeners = new Set<() => void>();
    const frameListeners = new Set<(frame: AgentFrame) => void>();
    let seq = 0;
    /** Capability 2 data keys, once the handshake agreed them (as HostDO does). */
    let sendKey: DataKey | undefined;
    let receiveKey: DataKey | undefined;
    let inbound = Promise.resolve();
    let sent = Promise.resolve();
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    const link: FakeLink = {
      hostParam,
      conn,
      kid: signer.keyId,
      received,
      errors,
      closed,
      autoPong: true,
      send(frame, opts = {}) {
        const number = opts.seq ?? ++seq;
        const sealed = sealFrame({ ...frame, seq: number } as ControlPlaneFrame, opts.signer ?? signer, {
          connectionId: conn,
          direction: "cp>agent",
          ...(sendKey ? { dataKey: sendKey } : {}),
        });
        sent = sent.then(async () => {
          const bytes = await sealed;
          if (ws.readyState === ws.OPEN) ws.send(bytes);
        });
        return sent;
      },
      sendRaw(data) {
        ws.send(data);
      },
      next(t, ms = 10_000) {
        return new Promise((resolve, reject) => {
          let seen = 0;
          const check = () => {
            for (; seen < received.length; seen++) {
              const frame = received[seen]!;
              if (frame.t === t) {
                clearTimeout(timer);
                listeners.delete(check);
                resolve(frame as never);
                return;
              }
            }
          };
          const timer = setTimeout(() => {
            listeners.delete(check);
            reject(
              new Error(`no ${t} from the agent within ${ms} ms; got ${received.map((f) => f.t).join(", ")}`),
            );
          }, ms);
          listeners.add(check);
          check();
        });
      },
      onFrame(listener) {
        frameListeners.add(listener);
        return () => frameListeners.delete(listener);
      },
      async handshake(opts = {}) {
        const nonce = crypto.getRandomValues(new Uint8Array(32));
        await link.send({
          t: "challenge",
          nonce,
          time: Date.now(),
          conn,
          kid: signer.keyId,
          cap: opts.cap ?? PROTOCOL_CAPABILITY,
        });
        const hello = await link.next("hello");
        let kx: Uint8Array | undefined;
        if (hello.kx !== undefined) {
          const exchange = await KeyExchange.start();
          kx = exchange.publicKey;
          const keys = await exchange.finish(hello.kx, {
            connectionId: conn,
            nonce,
            agentKx: hello.kx,
            cpKx: kx,
          });
          sendKey = await DataKey.fromBytes(keys["cp>agent"]);
          receiveKey = await DataKey.fromBytes(keys["agent>cp"]);
        }
        await link.send({ t: "ready", heartbeat: opts.heartbeat ?? 15_000, ...(kx ? { kx } : {}) });
        return hello;
      },
      close(code, reason = "") {
        ws.close(code, reason);
      },
    };
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      inbound = inbound.then(async () => {
        try {
          if (!isBinary) throw new Error("text message");
          const frame = await openFrame(new Uint8Array(data), verifier, {
            connectionId: conn,
            direction: "agent>cp",
            guard,
            ...(receiveKey ? { dataKey: receiveKey } : {}),
          });
          received.push(frame);
          for (const l of [...frameListeners]) l(frame);
          if (frame.t === "ping" && link.autoPong) await link.send({ t: "pong", time: frame.time });
        } catch (error) {
          errors.push(error instanceof Error ? error.message : String(error));
        }
        for (const l of [...listeners]) l();
      });
    });
    return link;
  }
}
