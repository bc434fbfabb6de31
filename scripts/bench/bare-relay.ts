// The platform's own ceiling for the forward benchmark: a Durable Object in the same workerd that does
// nothing but pass WebSocket messages from one client to another, with no signing, framing or policy.
import { Miniflare } from "miniflare";
import WebSocket from "ws";

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

/** Bytes per second through a bare relay: `total` bytes in `chunk`-sized messages, with backpressure. */
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
    const open = (side: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        // Without permessage-deflate, like every WebSocket on the relay's own path (ws offers it by
        // default: with it, this "ceiling" was zlib's speed, not the platform's).
        const ws = new WebSocket(`${url}${side}`, { perMessageDeflate: false });
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    const b = await open("b");
    const a = await open("a");
    let received = 0;
    const done = new Promise<void>((resolve) =>
      b.on("message", (d: Buffer) => {
        received += d.length;
        if (received >= total) resolve();
      }),
    );
    const payload = Buffer.alloc(chunk, 7);
    const started = performance.now();
    for (let sent = 0; sent < total; sent += chunk) {
      a.send(payload);
      // Keep at most a few MiB queued, as a flow-controlled sender would.
      while (a.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
    }
    await done;
    const rate = total / ((performance.now() - started) / 1000);
    a.terminate();
    b.terminate();
    return rate;
  } finally {
    await mf.dispose();
  }
}
