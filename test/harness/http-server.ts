// A real HTTP server on loopback for stream tests: GET answers with the path and the server's name,
// POST answers with the sha256 and length of the body it received.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";

export interface TestHttpServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startHttpServer(name: string): Promise<TestHttpServer> {
  const server = createServer((req, res) => {
    if (req.method === "POST") {
      const hash = createHash("sha256");
      let size = 0;
      req.on("data", (d: Buffer) => {
        hash.update(d);
        size += d.length;
      });
      req.on("end", () => res.end(`${size} ${hash.digest("hex")}`));
      return;
    }
    res.setHeader("x-served-by", name);
    res.end(`${name} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
