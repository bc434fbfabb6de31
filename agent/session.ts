// One WebSocket to the control plane, from dial to close: the handshake, heartbeats, and the frames of
// its streams. Connection (connection.ts) makes a new one for every attempt.
//
// Every frame out is sealed with the host key for this connection and direction, numbered by one
// SequenceCounter and sent in that order; every message in is opened against the pinned control plane
// key with one SequenceWindow, one at a time, in arrival order. Anything that breaks the protocol
// closes the socket with the code close-codes.ts gives for it.

import {
  type AgentFrame,
  CloseCode,
  COSE_SIGN1_TAG,
  type ConnectionId,
  type ControlPlaneFrame,
  closeCodeFor,
  closeReasonFor,
  DataKey,
  decodeCbor,
  decodeFrame,
  HANDSHAKE_TIMEOUT_MS,
  HEARTBEAT_MISSES,
  type HostFacts,
  KeyExchange,
  MIN_PEER_CAPABILITY,
  openFrame,
  PROTOCOL_CAPABILITY,
  ProtocolError,
  SequenceCounter,
  SequenceWindow,
  type Signer,
  sealFrame,
  type Verifier,
  VMS_CAPABILITY,
  WORKLOADS_CAPABILITY,
} from "../schema/protocol/index.ts";
import type { Apps } from "./apps/index.ts";
import { AgentError, oneLine } from "./errors.ts";
import { type ExecPolicy, ExecStreams } from "./exec/index.ts";
import type { JobRunner } from "./jobs/index.ts";
import { LogsStreams } from "./logs/index.ts";
import type { Outgoing } from "./outgoing.ts";
import { PtyStreams } from "./pty/index.ts";
import type { Runtime } from "./runtime/index.ts";
import type { AgentState } from "./state.ts";
import { StreamTable } from "./stream-table.ts";
import { type HostNetwork, TcpStreams } from "./tcp/index.ts";
import { AGENT_VERSION } from "./version.ts";
import type { ConsoleHubs } from "./vm/console-hub.ts";
import { ConsoleStreams } from "./vm/console-streams.ts";
import type { Vms } from "./vm/index.ts";

export interface SessionOptions {
  runtime: Runtime;
  state: AgentState;
  signer: Signer;
  facts: () => Promise<HostFacts>;
  /** What exec the host's owner allows (exec-policy.ts); every argv when absent. */
  execPolicy?: ExecPolicy;
  /** Queued jobs (capability 7): the agent's, outliving this connection. */
  jobs?: JobRunner;
  /** Services, policy and mesh listeners: the agent's, outliving this connection. */
  network: HostNetwork;
  /** The host's apps (cap 6 workloads), outliving this connection. */
  apps?: Apps;
  /** The consoles of the host's VMs (cap 10), outliving this connection. */
  consoles?: ConsoleHubs;
  /** The host's microVMs (cap 9 workloads), outliving this connection. */
  vms?: Vms;
  log: (line: string) => void;
  /** Also log every frame's type and stream id, both ways (OUTPOST_AGENT_DEBUG=1). */
  debug?: boolean;
  /** For tests: a shorter handshake deadline. */
  handshakeTimeoutMs?: number;
  /** Told when the handshake is done (`status` shows it; main.ts writes it down). */
  onReady?: () => void;
}

/** How long a close may wait for the peer's answer before the socket counts as gone. */
const CLOSE_WAIT_MS = 3000;

type Phase = "connecting" | "challenge" | "hello" | "ready" | "closing";

export interface SessionEnd {
  code: number;
  reason: string;
  /** Whether we closed it (and said why), rather than the control plane or the network. */
  local: boolean;
  /** Whether the WebSocket ever opened. */
  opened: boolean;
  wasReady: boolean;
  fatal?: AgentError;
}

export class Session {
  readonly ended: Promise<SessionEnd>;
  readonly #ws: WebSocket;
  readonly #verifier: Verifier;
  readonly #options: SessionOptions;
  /** Every stream of this connection, and which kind each open frame goes to. */
  readonly #streams = new StreamTable();
  readonly #tcp: TcpStreams;
  /** Takes the mesh listeners back from this connection once it ends. */
  #unserve: (() => void) | undefined;
  /** Stops reporting service changes (VM ports) on this connection once it ends. */
  #unwatch: (() => void) | undefined;
  readonly #counter = new SequenceCounter();
  readonly #window = new SequenceWindow();
  #phase: Phase = "connecting";
  #connectionId: ConnectionId | undefined;
  /** The control plane's capability, from its challenge: what it may be sent. */
  #peerCap = 0;
  /** Capability 2: our half of the data key exchange (until ready), then each direction's key. */
  #exchange: { kx: KeyExchange; nonce: Uint8Array } | undefined;
  #sendKey: DataKey | undefined;
  #receiveKey: DataKey | undefined;
  /** The data keys' bytes, until the faster MAC replaced the keys made from them. */
  #rawKeys: Record<"agent>cp" | "cp>agent", Uint8Array> | undefined;
  #inbound: Promise<void> = Promise.resolve();
  /** Job results go out on this session while it is the ready one (jobs/job-runner.ts). */
  readonly #sendJobResult = (frame: Outgoing) => this.#send(frame);
  #outbound: Promise<void> = Promise.resolve();
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastHeard = Date.now();
  #opened = false;
  #wasReady = false;
  #local: { code: number; reason: string; fatal?: AgentError } | undefined;
  #error = "";
  #resolve!: (end: SessionEnd) => void;
  #done = false;

  constructor(url: string, verifier: Verifier, options: SessionOptions) {
    this.#verifier = verifier;
    this.#options = options;
    this.ended = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    const send = (frame: Outgoing) => this.#send(frame);
    this.#tcp = new TcpStreams({
      runtime: options.runtime,
      send,
      table: this.#streams,
      targets: options.network,
      log: options.log,
    });
    // The stream kinds: one entry per open frame.
    this.#streams.register({
      "exec.open": new ExecStreams({
        runtime: options.runtime,
        send,
        table: this.#streams,
        ...(options.execPolicy ? { policy: options.execPolicy } : {}),
      }),
      "pty.open": new PtyStreams({
        runtime: options.runtime,
        send,
        table: this.#streams,
        ...(options.execPolicy ? { policy: options.execPolicy } : {}),
      }),
      "tcp.open": this.#tcp,
      "logs.open": new LogsStreams({ send, table: this.#streams, apps: options.apps }),
      "console.open": new ConsoleStreams({ send, table: this.#streams, hubs: options.consoles }),
    });
    this.#ws = options.runtime.openWebSocket(url);
    this.#ws.binaryType = "arraybuffer";
    this.#setDeadline("no challenge from the control plane");
    this.#ws.onopen = () => {
      this.#opened = true;
      if (this.#phase === "connecting") this.#phase = "challenge";
    };
    this.#ws.onmessage = (event: MessageEvent) => {
      // Liveness counts arrival, not processing: a control plane whose frames queue here is not silent.
      this.#lastHeard = Date.now();
      this.#inbound = this.#inbound
        .then(() => this.#receive(event.data))
        .catch((error) => this.#crash(error));
    };
    this.#ws.onerror = (event: Event) => {
      const message = (event as Event & { message?: unknown }).message;
      if (typeof message === "string" && message) this.#error = oneLine(message).slice(0, 200);
    };
    this.#ws.onclose = (event: CloseEvent) => this.#finish(event.code, event.reason || this.#error);
  }

  /** Closes with `code`; the session ends when the peer answers, or CLOSE_WAIT_MS later. */
  close(code: number, reason: string, fatal?: AgentError): void {
    if (this.#done || this.#local) return;
    this.#local = { code, reason, ...(fatal ? { fatal } : {}) };
    this.#phase = "closing";
    this.#stopTimers();
    this.#endStreams();
    try {
      this.#ws.close(code, reason);
    } catch {
      // Browser-style WebSockets only send 1000 and 3000–4999; 1011 (internal error) is not allowed.
      try {
        this.#ws.close(CloseCode.NORMAL, reason);
      } catch {}
    }
    setTimeout(() => this.#finish(code, reason), CLOSE_WAIT_MS);
  }

  #finish(code: number, reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#phase = "closing";
    this.#stopTimers();
    this.#endStreams();
    this.#options.jobs?.detach(this.#sendJobResult);
    const local = this.#local;
    const end: SessionEnd = local
      ? {
          code: local.code,
          reason: local.reason,
          local: true,
          opened: this.#opened,
          wasReady: this.#wasReady,
        }
      : { code, reason: oneLine(reason), local: false, opened: this.#opened, wasReady: this.#wasReady };
    if (local?.fatal) end.fatal = local.fatal;
    this.#resolve(end);
  }

  /** The link is gone: every stream ends without another frame, and mesh listeners stop using it. */
  #endStreams(): void {
    this.#options.apps?.disconnected();
    this.#options.vms?.disconnected();
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#unserve?.();
    this.#unserve = undefined;
    this.#streams.abortAll();
  }

  // ## Receiving

  /** Re-reads the phase (TypeScript would keep a narrowed one across an await). */
  #closing(): boolean {
    return this.#phase === "closing";
  }

  async #receive(data: unknown): Promise<void> {
    if (this.#closing()) return;
    try {
      if (!(data instanceof ArrayBuffer)) {
        throw new ProtocolError("malformed", "Cannot open frame: text messages are not part of the protocol");
      }
      const bytes = new Uint8Array(data);
      if (this.#phase !== "ready" && this.#phase !== "hello") {
        if (!this.#checkChallenge(bytes)) return;
      }
      const frame = await openFrame(bytes, this.#verifier, {
        connectionId: this.#connectionId!,
        direction: "cp>agent",
        guard: this.#window,
        ...(this.#receiveKey ? { dataKey: this.#receiveKey } : {}),
      });
      if (this.#closing()) return;
      if (this.#options.debug) this.#options.log(`← ${_summary(frame)}`);
      await this.#onFrame(frame);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#options.log(`refused a message from the control plane: ${error.message}`);
      this.close(closeCodeFor(error), closeReasonFor(error));
    }
  }

  /**
   * Before the signature can be checked, the challenge's connection id must be known: it is in the
   * challenge itself. Read it unverified, along with the key id, which must be the pinned key's; the
   * frame is then opened (and its signature checked) like any other.
   */
  #checkChallenge(bytes: Uint8Array): boolean {
    const sign1 = decodeCbor(bytes, { tag: COSE_SIGN1_TAG });
    const payload = Array.isArray(sign1) ? sign1[2] : undefined;
    if (!(payload instanceof Uint8Array)) {
      throw new ProtocolError("malformed", "Cannot decode frame: COSE payload must be a byte string");
    }
    const frame = decodeFrame(payload, "cp>agent");
    if (frame.t !== "challenge") {
      throw new ProtocolError(
        "unexpected_frame",
        `Cannot accept ${frame.t}: the first frame must be challenge`,
      );
    }
    if (frame.kid !== this.#verifier.keyId) {
      const { state } = this.#options;
      this.close(
        CloseCode.UNAUTHORIZED,
        "not the control plane this host enrolled with",
        new AgentError(
          `the control plane at ${state.url} signs with key ${frame.kid}, not ${this.#verifier.keyId} pinned at enrollment`,
          "check the url in state.json; if the control plane's key really changed, enroll again with --force",
        ),
      );
      return false;
    }
    this.#connectionId = frame.conn;
    return true;
  }

  async #onFrame(frame: ControlPlaneFrame): Promise<void> {
    switch (frame.t) {
      case "challenge":
        if (this.#phase !== "challenge" && this.#phase !== "connecting") break;
        return this.#onChallenge(frame.nonce, frame.cap);
      case "ready":
        if (this.#phase !== "hello") break;
        return this.#onReady(frame.heartbeat, frame.kx);
      case "ping":
        return this.#send({ t: "pong", time: frame.time });
      case "pong":
        return;
      case "error":
        this.#options.log(
          `the control plane reported ${frame.code}${frame.sid !== undefined ? ` on stream ${frame.sid}` : ""}: ${oneLine(frame.message)}`,
        );
        return;
      default:
        if (this.#phase !== "ready") break;
        return this.#onStreamFrame(frame);
    }
    throw new ProtocolError(
      "unexpected_frame",
      `Cannot accept ${frame.t}: not expected in phase ${this.#phase}`,
    );
  }

  async #onChallenge(nonce: Uint8Array, cap: number): Promise<void> {
    if (cap < MIN_PEER_CAPABILITY) {
      throw new ProtocolError(
        "unsupported",
        `Cannot accept challenge: control plane capability ${cap} is below ${MIN_PEER_CAPABILITY}`,
      );
    }
    const { state } = this.#options;
    this.#peerCap = cap;
    this.#phase = "hello";
    this.#setDeadline("no ready from the control plane after hello");
    // Capability 4 added facts.exec; an older control plane would refuse the unknown field.
    const { exec, drivers: _drivers, ...older } = await this.#options.facts();
    const facts: HostFacts = cap >= 4 && exec !== undefined ? { ...older, exec } : older;
    // Capability 9 added facts.drivers (the hypervisors this host has).
    if (cap >= VMS_CAPABILITY && this.#options.vms) facts.drivers = await this.#options.vms.facts();
    // Capability 2: offer a data key exchange (data-key.ts); a cap 1 control plane would refuse kx.
    if (cap >= 2) this.#exchange = { kx: await KeyExchange.start(), nonce };
    if (this.#closing()) return;
    this.#send({
      t: "hello",
      host: state.hostId,
      nonce,
      version: AGENT_VERSION,
      cap: PROTOCOL_CAPABILITY,
      facts,
      ...(this.#exchange ? { kx: this.#exchange.kx.publicKey } : {}),
    });
  }

  async #onReady(heartbeat: number, kx: Uint8Array | undefined): Promise<void> {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    if (kx !== undefined) {
      if (exchange === undefined) {
        throw new ProtocolError("unexpected_frame", "Cannot accept ready: kx answers no kx of ours");
      }
      const keys = await exchange.kx.finish(kx, {
        connectionId: this.#connectionId!,
        nonce: exchange.nonce,
        agentKx: exchange.kx.publicKey,
        cpKx: kx,
      });
      // Set before the phase turns ready: no stream (and no data frame) exists before that. WebCrypto's
      // HMAC until the first stream loads the runtime's synchronous one (#loadFastMac).
      this.#rawKeys = keys;
      this.#sendKey = await DataKey.fromBytes(keys["agent>cp"]);
      this.#receiveKey = await DataKey.fromBytes(keys["cp>agent"]);
      if (this.#closing()) return;
    }
    const { log, state } = this.#options;
    this.#phase = "ready";
    this.#wasReady = true;
    this.#options.jobs?.attach(this.#sendJobResult);
    this.#stopTimers();
    this.#lastHeard = Date.now();
    this.#heartbeat = setInterval(() => {
      const silent = Date.now() - this.#lastHeard;
      if (silent > HEARTBEAT_MISSES * heartbeat) {
        log(`nothing from the control plane for ${silent} ms`);
        this.close(CloseCode.TIMEOUT, `no frame from the control plane for ${silent} ms`);
        return;
      }
      this.#send({ t: "ping", time: Date.now() });
    }, heartbeat);
    this.#unserve = this.#options.network.listeners.serve({
      open: (route, listen, conn) => {
        this.#loadFastMac();
        this.#tcp.openMesh(route, listen, conn);
      },
      cut: (route, reason) => this.#tcp.closeRoute(route, reason),
    });
    log(`connected to ${state.url} as ${state.name}.${state.cluster} (${state.hostId})`);
    this.#options.onReady?.();
    // Capability 6: workload.status only to a control plane that knows it.
    if (this.#peerCap >= WORKLOADS_CAPABILITY) this.#options.apps?.connected((frame) => this.#send(frame));
    // Capability 9: VM status (with `vm`) only to a control plane that knows it.
    if (this.#peerCap >= VMS_CAPABILITY) this.#options.vms?.connected((frame) => this.#send(frame));
    // A VM's port services come and go outside any config: the report says so (cap 5).
    if (this.#peerCap >= 5)
      this.#unwatch = this.#options.network.watch(() => {
        if (this.#phase === "ready") this.#send({ t: "report", report: this.#options.network.report() });
      });
  }

  /**
   * The first stream swaps the data keys for ones with the runtime's synchronous HMAC (node:crypto, 5
   * MiB an idle agent does without). Both compute the same tags, so frames sealed or opened meanwhile,
   * with WebCrypto's, are as valid.
   */
  #loadFastMac(): void {
    const keys = this.#rawKeys;
    if (keys === undefined) return;
    this.#rawKeys = undefined;
    void (async () => {
      const hmac = await this.#options.runtime.loadHmacSha256();
      const send = await DataKey.fromBytes(keys["agent>cp"], { hmac });
      const receive = await DataKey.fromBytes(keys["cp>agent"], { hmac });
      if (this.#closing()) return;
      this.#sendKey = send;
      this.#receiveKey = receive;
    })().catch((error) => this.#crash(error));
  }

  #onStreamFrame(frame: ControlPlaneFrame): void {
    if (this.#streams.takes(frame)) {
      this.#loadFastMac();
      this.#streams.receive(frame);
      return;
    }
    if (frame.t === "workloads") {
      this.#options.apps?.apply(frame.workloads);
      this.#options.vms?.apply(frame.workloads);
      return;
    }
    if (frame.t === "job") {
      void this.#options.jobs?.receive(frame);
      return;
    }
    if (frame.t === "job.cancel") {
      this.#options.jobs?.cancel(frame.job);
      return;
    }
    if (frame.t !== "config") return;
    try {
      this.#options.network.applyConfig(frame.config);
      // Capability 5: say what is in force now; an older control plane would refuse the frame.
      if (this.#peerCap >= 5) this.#send({ t: "report", report: this.#options.network.report() });
    } catch (error) {
      // A bug in reading the config must not cost the connection (it would come back with it).
      const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.#options.log(`internal error applying the config: ${oneLine(why).slice(0, 300)}`);
    }
  }

  // ## Sending

  /** Numbers `frame` now, signs it, and sends it after everything numbered before it. */
  #send(frame: Outgoing): void {
    if (this.#phase === "closing" || this.#connectionId === undefined) return;
    if (this.#options.debug) this.#options.log(`→ ${_summary(frame)}`);
    const sealed = sealFrame({ ...frame, seq: this.#counter.next() } as AgentFrame, this.#options.signer, {
      connectionId: this.#connectionId,
      direction: "agent>cp",
      ...(this.#sendKey ? { dataKey: this.#sendKey } : {}),
    });
    sealed.catch(() => {}); // reported below, in order
    this.#outbound = this.#outbound
      .then(async () => {
        const bytes = await sealed;
        if (this.#phase !== "closing" && this.#ws.readyState === WebSocket.OPEN) this.#ws.send(bytes);
      })
      .catch((error) => this.#crash(error));
  }

  // ## Timers and failures

  #setDeadline(what: string): void {
    clearTimeout(this.#deadline);
    const ms = this.#options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.#deadline = setTimeout(() => {
      this.#options.log(`${what} within ${ms} ms`);
      this.close(CloseCode.TIMEOUT, `${what} within ${ms} ms`);
    }, ms);
  }

  #stopTimers(): void {
    clearTimeout(this.#deadline);
    clearInterval(this.#heartbeat);
    this.#deadline = undefined;
    this.#heartbeat = undefined;
  }

  /** A bug on our side: say so, close with 1011 and let the agent dial again. */
  #crash(error: unknown): void {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.#options.log(`internal error: ${oneLine(why).slice(0, 300)}`);
    this.close(closeCodeFor(error), closeReasonFor(error));
  }
}

function _summary(frame: { t: string; sid?: number; data?: Uint8Array; bytes?: number }): string {
  const sid = frame.sid !== undefined ? ` sid ${frame.sid}` : "";
  const size =
    frame.data !== undefined
      ? ` ${frame.data.length} bytes`
      : frame.bytes !== undefined
        ? ` +${frame.bytes}`
        : "";
  return `${frame.t}${sid}${size}`;
}
