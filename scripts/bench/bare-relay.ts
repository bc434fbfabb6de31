// The platform's own ceiling for the forward benchmark: a Durable Object in the same workerd that does
// nothing but pass WebSocket messages from one client to another, with no signing, framing or policy.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";

const run = promisify(execFile);
const BUN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
const CLIENT = fileURLToPath(new URL("./bare-relay-client.mjs", import.meta.url));

const RELAY_WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Relay extends DurableObject {
  fetch(request) {
    const side = new URL(request.url).pathname.slice(1);
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [side]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  webSocketMessage(ws, message) {
    const [tag] = this.ctx.getTags(ws);
    for (const peer of this.ctx.getWebSockets(tag === "a" ? "b" : "a")) peer.send(message);
  }
}
export default {
  fetch(request, env) {
    return env.RELAY.get(env.RELAY.idFromName("bench")).fetch(request);
  },
};`;

/**
 * Bytes per second through a bare relay: `total` bytes in `chunk`-sized messages, with backpressure,
 * between two clients under Bun (bare-relay-client.mjs).
 */
export async function bareRelayRate(total: number, chunk: number): Promise<number> {
  const mf = new Miniflare({
    modules: true,
    script: RELAY_WORKER,
    compatibilityDate: "2026-04-01",
    durableObjects: { RELAY: "Relay" },
    host: "127.0.0.1",
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/^http/, "ws");
  try {
    // Bun's client offers no permessage-deflate, like every WebSocket on the relay's own path (with it,
    // this "ceiling" was zlib's speed, not the platform's).
    const { stdout } = await run(BUN, [CLIENT, url, String(total), String(chunk)], { timeout: 120_000 });
    return (JSON.parse(stdout) as { rate: number }).rate;
  } finally {
    await mf.dispose();
  }
}
