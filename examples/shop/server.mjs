// The shop: a tiny HTTP app for `outpost deploy` (README "Apps"). node:http runs on Bun, Deno and Node
// alike; the agent runs it with its own runtime (`${OUTPOST_RUNTIME}` in outpost.toml) on the PORT it
// picks for each release. SHOP_BROKEN=1 makes /healthz fail, for the refused-release demo.
import { createServer } from "node:http";

const release = process.env.OUTPOST_RELEASE ?? "dev";
const broken = process.env.SHOP_BROKEN === "1";

const server = createServer((req, res) => {
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

// Drain: stop accepting, finish what is in flight, then exit (the agent waits stop_timeout).
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
});
