// The two clients of the bare Durable Object relay (bare-relay.ts), run under Bun: the fastest WebSocket
// client the project ships, so that the forward benchmark's ceiling is the platform's, not Node's `ws`
// (measured side by side on the 2-core machine: Bun clients 115-189 MB/s through the same relay where
// `ws` read 89 MB/s). Plain JS, no imports: `bun bare-relay-client.mjs <ws url> <total> <chunk>` prints
// {"rate": bytes per second}.
const [url, totalText, chunkText] = process.argv.slice(2);
const total = Number(totalText);
const chunk = Number(chunkText);

function open(side) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}${side}`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`cannot open ${url}${side}`));
  });
}

const b = await open("b");
const a = await open("a");
let received = 0;
const done = new Promise((resolve) => {
  b.onmessage = (event) => {
    received += event.data.byteLength;
    if (received >= total) resolve();
  };
});
const payload = new Uint8Array(chunk).fill(7);
const started = performance.now();
for (let sent = 0; sent < total; sent += chunk) {
  a.send(payload);
  // Keep at most a few MiB queued, as a flow-controlled sender would.
  while (a.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
}
await done;
const rate = total / ((performance.now() - started) / 1000);
a.close();
b.close();
console.log(JSON.stringify({ rate }));
