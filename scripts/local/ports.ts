import { createServer } from "node:net";

/** Resolves when host:port can be bound; rejects with a message that says what to do otherwise. */
export function assertPortFree(host: string, port: number, what: string, envVar: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          err.code === "EADDRINUSE"
            ? `${host}:${port} is already in use, so the ${what} cannot start there; stop whatever holds it or set ${envVar} to another port`
            : `cannot listen on ${host}:${port} for the ${what}: ${err.message}`,
        ),
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
