// An app's `listen` address: the agent listens there itself and splices every connection to the
// live release's port, looked up per connection, so a swap moves new connections at once and a
// connection already open stays with the release it reached until that one drains.
import type { Runtime, TcpConn, TcpListener } from "../runtime/index.ts";

function _split(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(listen.slice(i + 1)) };
}

export class ListenProxies {
  readonly #listeners = new Map<string, { listen: string; listener: TcpListener }>();

  constructor(
    private readonly runtime: Runtime,
    private readonly log: (line: string) => void,
    private readonly portOf: (app: string) => number | undefined,
  ) {}

  /** Makes app `name` listen on `listen` (or nowhere, when undefined). */
  sync(name: string, listen: string | undefined): void {
    const now = this.#listeners.get(name);
    if (now?.listen === listen) return;
    now?.listener.close();
    this.#listeners.delete(name);
    if (listen === undefined) return;
    const { host, port } = _split(listen);
    try {
      const listener = this.runtime.listen(host, port, (conn) => void this.#splice(name, conn));
      this.#listeners.set(name, { listen, listener });
    } catch (error) {
      this.log(`app ${name}: cannot listen on ${listen}: ${error instanceof Error ? error.message : error}`);
    }
  }

  async #splice(name: string, conn: TcpConn): Promise<void> {
    const port = this.portOf(name);
    if (port === undefined) return conn.close();
    let up: TcpConn;
    try {
      up = await this.runtime.connect("127.0.0.1", port);
    } catch {
      return conn.close();
    }
    const done = () => {
      conn.close();
      up.close();
    };
    void conn.readable.pipeTo(up.writable).catch(done);
    void up.readable.pipeTo(conn.writable).catch(done);
  }

  closeAll(): void {
    for (const { listener } of this.#listeners.values()) listener.close();
    this.#listeners.clear();
  }
}
