// The mesh routes' listeners, kept in step with the latest config: a new route starts listening, a
// removed one stops, an unchanged one keeps its socket. They belong to the agent, not to a connection:
// the control plane re-sends the config after every ready, and an unchanged listener is not rebound.
// A connection accepted while no connection to the control plane is ready is closed at once; the
// streams accepted for a route end when the route is removed or changed, so no connection outlives the
// route it came through.
import type { Runtime, TcpConn, TcpListener } from "../runtime/index.ts";
import type { ListenerSpec } from "./host-config.ts";

/** The streams of the connection to the control plane that is ready (its TcpStreams). */
export interface MeshServer {
  /** Opens a mesh stream for a connection accepted on `listen` for `route`. */
  open(route: string, listen: string, conn: TcpConn): void;
  /** Ends the streams open for `route`, telling the control plane `reason`; how many there were. */
  cut(route: string, reason: string): number;
}

interface _Active {
  spec: ListenerSpec;
  listener: TcpListener;
}

export interface MeshListenersOptions {
  runtime: Pick<Runtime, "listen">;
  log: (line: string) => void;
}

export class MeshListeners {
  readonly #options: MeshListenersOptions;
  readonly #active = new Map<string, _Active>();
  /** Routes of the latest sync that are not listening, and why (reported to the control plane). */
  readonly #failed = new Map<string, { listen: string; error: string }>();
  #server: MeshServer | undefined;

  constructor(options: MeshListenersOptions) {
    this.#options = options;
  }

  /** Every route of the latest sync: listening, or why not (`refused` from the config's checks). */
  states(
    refused: readonly { route: string; listen: string; why: string }[] = [],
  ): { route: string; listen: string; error?: string }[] {
    return [
      ...[...this.#active].map(([route, a]) => ({ route, listen: a.spec.listen })),
      ...[...this.#failed].map(([route, f]) => ({ route, listen: f.listen, error: f.error })),
      ...refused.map((r) => ({ route: r.route, listen: r.listen, error: `refused: ${r.why}` })),
    ];
  }

  /** Route id → `host:port` of every listener up now. */
  listening(): Map<string, string> {
    return new Map([...this.#active].map(([route, a]) => [route, a.spec.listen]));
  }

  /**
   * Hands accepted connections to `server` from now on (a connection became ready); the returned
   * function takes it back, unless another has been set since.
   */
  serve(server: MeshServer): () => void {
    this.#server = server;
    return () => {
      if (this.#server === server) this.#server = undefined;
    };
  }

  /**
   * Makes the listeners exactly `specs`: stops the others first, so a freed port can be reused. A
   * route that is gone or leads elsewhere now has its streams ended: they go where it no longer does.
   */
  sync(specs: readonly ListenerSpec[]): void {
    const { log } = this.#options;
    const wanted = new Map(specs.map((spec) => [spec.route, spec]));
    this.#failed.clear();
    for (const [route, active] of this.#active) {
      const spec = wanted.get(route);
      const sameSocket = spec?.listen === active.spec.listen;
      if (sameSocket && spec.to === active.spec.to) continue;
      if (sameSocket) {
        active.spec = spec;
        log(`mesh route ${route}: now leads to ${spec.to}`);
      } else {
        active.listener.close();
        this.#active.delete(route);
        log(`mesh route ${route}: stopped listening on ${active.spec.listen}`);
      }
      this.#cut(route, `mesh route ${route} was ${spec === undefined ? "removed" : "changed"}`);
    }
    for (const spec of specs) {
      if (!this.#active.has(spec.route)) this.#start(spec);
    }
  }

  /** Stops every listener (the agent is shutting down). */
  closeAll(): void {
    for (const active of this.#active.values()) active.listener.close();
    this.#active.clear();
    this.#failed.clear();
  }

  #start(spec: ListenerSpec): void {
    const { log, runtime } = this.#options;
    try {
      const listener = runtime.listen(spec.host, spec.port, (conn) => this.#accept(spec.route, conn));
      this.#active.set(spec.route, { spec, listener });
      log(`mesh route ${spec.route}: listening on ${spec.listen} for ${spec.to}`);
    } catch (error) {
      const why = _listenError(error);
      // Not kept: the next config (every reconnect, every change) tries again.
      this.#failed.set(spec.route, { listen: spec.listen, error: `cannot listen: ${why}` });
      log(`mesh route ${spec.route}: cannot listen on ${spec.listen} (${why})`);
    }
  }

  #cut(route: string, reason: string): void {
    const cut = this.#server?.cut(route, reason) ?? 0;
    if (cut > 0) this.#options.log(`mesh route ${route}: closed ${cut} open connection(s) through it`);
  }

  #accept(route: string, conn: TcpConn): void {
    const active = this.#active.get(route);
    const server = this.#server;
    if (active === undefined || server === undefined) {
      conn.close();
      const listen = active?.spec.listen ?? "a stopped listener";
      this.#options.log(
        `mesh route ${route}: closed a connection on ${listen}: not connected to the control plane`,
      );
      return;
    }
    try {
      server.open(route, active.spec.listen, conn);
    } catch (error) {
      conn.close();
      const why = error instanceof Error ? error.message : String(error);
      this.#options.log(`mesh route ${route}: cannot open a stream (${why.slice(0, 200)})`);
    }
  }
}

/** Why a bind failed, one line: Bun says only "Failed to listen at <host>", its code says why. */
function _listenError(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").slice(0, 160);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EADDRINUSE" || /AddrInUse|address already in use/i.test(message)) {
    return `address already in use (${message})`;
  }
  return typeof code === "string" && !message.includes(code) ? `${message} (${code.slice(0, 32)})` : message;
}
