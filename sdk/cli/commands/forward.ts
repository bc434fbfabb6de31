import { createServer, type Socket } from "node:net";
import { MAX_CHUNK_BYTES } from "../../../schema/protocol/limits.ts";
import { bridge } from "../bridge.ts";
import { type Command, parse } from "../command.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost forward <host>.<cluster>:<service|port> [--listen 127.0.0.1:PORT]

Listens locally (default 127.0.0.1 on a free port) and carries each accepted connection as a TCP
stream to the service on the host. Prints the local address; Ctrl-C stops it.`;

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`--listen '${text}' is not <address>:<port>`, help);
  return { host: m[1] ?? m[2]!, port };
}

export const forward: Command = {
  name: "forward",
  summary: "forward a local port to a service on a host",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, { listen: { type: "string" } }, help);
    if (positionals.length !== 1) throw new UsageError("expected <host>.<cluster>:<service|port>", help);
    const ref = positionals[0]!;
    const colon = ref.lastIndexOf(":");
    if (colon <= 0 || colon === ref.length - 1)
      throw new UsageError(`'${ref}' is not <host>.<cluster>:<service|port>`, help);
    const host = ref.slice(0, colon);
    const target = ref.slice(colon + 1);
    const listen = parseListen((values.listen as string | undefined) ?? "127.0.0.1:0");
    const client = ctx.client();
    const sockets = new Set<Socket>();

    // Up to a frame's worth (256 KiB) buffered per socket while the relay is busy, so what piled up
    // goes out as one frame (bridge.ts); the default (16 KiB) stopped reading after a few small ones.
    const server = createServer({ highWaterMark: MAX_CHUNK_BYTES }, (socket) => {
      // A relay passes on segments as they come: Nagle's algorithm would hold a reply's second write
      // back until the client's (delayed, up to 40 ms) ACK of the first.
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      const stream = client.tcpStream(host, target);
      stream.opened
        .then(() => bridge(socket, socket, stream))
        .catch((err: unknown) => {
          ctx.io.err(
            `outpost: ${socket.remoteAddress}:${socket.remotePort} → ${ref}: ${err instanceof Error ? err.message : err}`,
          );
          socket.destroy();
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(
          new UsageError(
            err.code === "EADDRINUSE" ? `${listen.host}:${listen.port} is already in use` : err.message,
          ),
        ),
      );
      server.listen(listen.port, listen.host, () => resolve());
    });
    const addr = server.address() as { address: string; port: number };
    const shown = addr.address.includes(":")
      ? `[${addr.address}]:${addr.port}`
      : `${addr.address}:${addr.port}`;
    ctx.io.out(`forwarding ${shown} → ${ref} (Ctrl-C to stop)`);

    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    return 0;
  },
};
