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
  #server: MeshServer | undefined;

  constructor(options: MeshListenersOptions) {
    this.#options = options;
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
  }

  #start(spec: ListenerSpec): void {
    const { log, runtime } = this.#options;
    try {
      const listener = runtime.listen(spec.host, spec.port, (conn) => this.#accept(spec.route, conn));
      this.#active.set(spec.route, { spec, listener });
      log(`mesh route ${spec.route}: listening on ${spec.listen} for ${spec.to}`);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      // Not kept: the next config (every reconnect, every change) tries again.
      log(
        `mesh route ${spec.route}: cannot listen on ${spec.listen} (${why.replace(/\s+/g, " ").slice(0, 200)})`,
      );
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
