// A real HTTP server on loopback for stream tests: GET answers with the path and the server's name,
// POST answers with the sha256 and length of the body it received. And httpGetText, a plain GET.
import { createHash } from "node:crypto";
import { createServer, request, type Server } from "node:http";

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

/** The body of a GET of `path` on 127.0.0.1:`port`, on a fresh connection (no keep-alive), within 5 s. */
export function httpGetText(port: number, path = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}
