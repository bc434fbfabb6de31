// The mesh routes' listeners, kept in step with the latest config: a new route starts listening, a
// removed one stops, an unchanged one keeps its socket. They belong to the agent, not to a connection:
// the control plane re-sends the config after every ready, and an unchanged listener is not rebound.
// A connection accepted while no connection to the control plane is ready is closed at once.
import type { Runtime, TcpConn, TcpListener } from "../runtime/index.ts";
import type { ListenerSpec } from "./host-config.ts";

/** Opens a mesh stream for a connection accepted on `listen` for `route` (TcpStreams.openMesh). */
export type MeshOpener = (route: string, listen: string, conn: TcpConn) => void;

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
  #opener: MeshOpener | undefined;

  constructor(options: MeshListenersOptions) {
    this.#options = options;
  }

  /** Route id → `host:port` of every listener up now. */
  listening(): Map<string, string> {
    return new Map([...this.#active].map(([route, a]) => [route, a.spec.listen]));
  }

  /**
   * Hands accepted connections to `opener` from now on (a connection became ready); the returned
   * function takes it back, unless another has been set since.
   */
  serve(opener: MeshOpener): () => void {
    this.#opener = opener;
    return () => {
      if (this.#opener === opener) this.#opener = undefined;
    };
  }

  /** Makes the listeners exactly `specs`: stops the others first, so a freed port can be reused. */
  sync(specs: readonly ListenerSpec[]): void {
    const { log } = this.#options;
    const wanted = new Map(specs.map((spec) => [spec.route, spec]));
    for (const [route, active] of this.#active) {
      const spec = wanted.get(route);
      if (spec !== undefined && spec.listen === active.spec.listen) {
        active.spec = spec; // same socket; `to` may have changed
        continue;
      }
      active.listener.close();
      this.#active.delete(route);
      log(`mesh route ${route}: stopped listening on ${active.spec.listen}`);
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

  #accept(route: string, conn: TcpConn): void {
    const active = this.#active.get(route);
    const opener = this.#opener;
    if (active === undefined || opener === undefined) {
      conn.close();
      const listen = active?.spec.listen ?? "a stopped listener";
      this.#options.log(
        `mesh route ${route}: closed a connection on ${listen}: not connected to the control plane`,
      );
      return;
    }
    try {
      opener(route, active.spec.listen, conn);
    } catch (error) {
      conn.close();
      const why = error instanceof Error ? error.message : String(error);
      this.#options.log(`mesh route ${route}: cannot open a stream (${why.slice(0, 200)})`);
    }
  }
}
