// The agent's link to its control plane: one WebSocket at a time, redialled for ever with backoff.
//
//   dial ws(s)://…/v1/agent/connect?host=<host id>   (the id is in the query: Deno's WebSocket cannot
//                                                      set headers)
//   ◀ challenge   kid must be the key pinned at enrollment (else close 4401 and stop: wrong control
//                 plane); cap at least MIN_PEER_CAPABILITY
//   ▶ hello       host id, the nonce echoed, version, capability, facts
//   ◀ ready       then a ping every `heartbeat` ms; HEARTBEAT_MISSES silent intervals → close 4408
//   ◀ config      services and mesh listeners (tcp/host-network.ts, kept across connections)
//   ◀▶ streams    exec (exec.ts); tcp both ways (tcp/tcp-streams.ts)
//
// session.ts runs one connection; this file dials, redials with backoff (backoff.ts), and decides when
// to stop: close 4403 (revoked) and 4426 (upgrade required) end the agent, since retrying cannot help,
// as does a challenge signed by a key other than the pinned one.

import { AGENT_CONNECT_PATH } from "../schema/protocol/enroll.ts";
import { CloseCode, Verifier } from "../schema/protocol/index.ts";
import { backoffDelay } from "./backoff.ts";
import { AgentError, oneLine } from "./errors.ts";
import { Session, type SessionEnd, type SessionOptions } from "./session.ts";
import type { AgentState } from "./state.ts";
import { AGENT_VERSION } from "./version.ts";

export interface ConnectionOptions extends SessionOptions {
  /** For tests: a fixed jitter. */
  random?: () => number;
  /** Told each time the connection is lost, with why (one line), as `status` shows it. */
  onDisconnected?: (why: string) => void;
}

/** The WebSocket URL of the agent endpoint for `state`. */
function connectUrl(state: Pick<AgentState, "url" | "hostId">): string {
  const url = new URL(`${state.url.replace(/\/+$/, "")}${AGENT_CONNECT_PATH}`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("host", state.hostId);
  return url.href;
}

/** Keeps the host connected until stop(), or until the control plane refuses it for good. */
export class Connection {
  readonly #options: ConnectionOptions;
  #verifier: Verifier | undefined;
  #session: Session | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  /** Resolves undefined after stop(), or with the reason the agent must not reconnect. */
  async run(): Promise<AgentError | undefined> {
    const { log, state } = this.#options;
    const url = connectUrl(state);
    let attempt = 0;
    // Created here, not in the constructor: its key id comes from WebCrypto (keyIdOfAsync says why).
    this.#verifier ??= await Verifier.create(state.controlPlaneKey);
    const verifier = this.#verifier;
    while (!this.#stopped) {
      let session: Session;
      try {
        session = new Session(url, verifier, this.#options);
      } catch (error) {
        const why = oneLine(error instanceof Error ? error.message : String(error));
        return new AgentError(`cannot dial ${url} (${why})`, "check the url in state.json, or enroll again");
      }
      this.#session = session;
      const end = await session.ended;
      this.#session = undefined;
      const fatal = end.fatal ?? (end.local ? undefined : _fatalClose(end.code, end.reason));
      if (fatal) {
        this.#options.onDisconnected?.(fatal.message);
        return fatal;
      }
      if (this.#stopped) break;
      this.#options.onDisconnected?.(_describe(end));
      if (end.wasReady) attempt = 0;
      const delay = backoffDelay(attempt++, this.#options.random);
      log(`disconnected from ${state.url} (${_describe(end)}); reconnecting in ${delay} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return undefined;
  }

  /** Closes the connection with 1000 and kills running execs; run() then resolves. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    const session = this.#session;
    if (session) {
      session.close(CloseCode.NORMAL, "agent shutting down");
      await session.ended;
    }
  }
}

function _describe(end: SessionEnd): string {
  const who = end.local ? "closed by the agent" : "closed by the control plane";
  const reason = end.reason ? `: ${end.reason}` : "";
  if (!end.opened && !end.local) return `connection failed${reason}`;
  if (end.code === 1006 || end.code === 0) return `connection lost${reason}`;
  return `${who}, ${end.code}${reason}`;
}

/** The close codes after which dialling again cannot help. */
function _fatalClose(code: number, reason: string): AgentError | undefined {
  const why = reason ? ` (${reason})` : "";
  if (code === CloseCode.REVOKED) {
    return new AgentError(
      `the control plane refused this host: it was revoked or deleted${why}`,
      "enroll it again with a new token ('outpost token create') and --force",
    );
  }
  if (code === CloseCode.UPGRADE_REQUIRED) {
    return new AgentError(
      `the control plane requires a newer agent than ${AGENT_VERSION}${why}`,
      "install the current agent (see the install line from 'outpost token create') and start it again",
    );
  }
  return undefined;
}
