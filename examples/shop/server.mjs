// The shop: a tiny HTTP app for `outpost deploy` (README "Apps"). node:http runs on Bun, Deno and Node
// alike; the agent runs it with its own runtime (`${OUTPOST_RUNTIME}` in outpost.toml) on the PORT it
// picks for each release. SHOP_BROKEN=1 makes /healthz fail, for the refused-release demo.
import { createServer } from "node:http";

const release = process.env.OUTPOST_RELEASE ?? "dev";
const broken = process.env.SHOP_BROKEN === "1";

// Set on SIGTERM (below): every answer from then on closes its connection.
let draining = false;

const server = createServer((req, res) => {
  if (draining) res.setHeader("connection", "close");
  if (req.url === "/healthz") {
    res.writeHead(broken ? 503 : 200, { "content-type": "text/plain" });
    res.end(broken ? "broken on purpose\n" : "ok\n");
    return;
  }
  console.log(`${req.method} ${req.url}`); // an access line, for 'outpost logs shop -f'
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(
    `shop release ${release}${process.env.SHOP_GREETING ? ` says ${process.env.SHOP_GREETING}` : ""}\n`,
  );
});

server.listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => {
  console.log(`shop release ${release} listening on 127.0.0.1:${process.env.PORT}`);
});

// Drain. The agent has already switched the service and the listen proxy to the new release when
// it sends SIGTERM, so no new client comes here; but a connection a proxy opened just before the
// switch may still be on its way, its request not yet sent (a socket Node calls idle). So the
// listener stays open, every answer from now on closes its connection, and the process exits once
// it has had no connection for a second (or after 4 s: the agent's stop_timeout is 5 s).
const open = new Set();
server.on("connection", (socket) => {
  open.add(socket);
  socket.on("close", () => open.delete(socket));
});
process.on("SIGTERM", () => {
  // A flag the handler reads before it answers, not a second "request" listener: that one ran after
  // the answer was sent, and setHeader then threw ERR_HTTP_HEADERS_SENT, which killed this process
  // under Bun on the first request a kept-alive connection (outpost forward's) brought after
  // SIGTERM, cutting every request still in flight on it ("socket hang up").
  draining = true;
  let quietSince = Date.now();
  setInterval(() => {
    if (open.size > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= 1000) process.exit(0);
  }, 100);
  setTimeout(() => process.exit(0), 4000);
});
