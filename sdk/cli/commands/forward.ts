import { createServer, type Socket } from "node:net";
import { MAX_CHUNK_BYTES } from "../../../schema/protocol/limits.ts";
import type { Outpost } from "../../outpost.ts";
import { bridge } from "../bridge.ts";
import { type Command, parse } from "../command.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost forward <host>.<cluster>:<service|port> [--listen 127.0.0.1:PORT]

Listens locally (default 127.0.0.1 on a free port) and carries each accepted connection as a TCP
stream to the service on the host. Prints the local address; Ctrl-C stops it.

Before it listens it checks that the host exists and is online and that it has the service (added
here, or in the agent's own config as its last report says), and refuses otherwise (exit 1). A --listen
address that is not loopback (0.0.0.0, a LAN address) lets anyone who can reach this machine use the
forward: it warns.`;

/** Loopback as the kernel means it: 127.0.0.0/8, ::1, localhost. */
function _isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

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
    const refused = await _precheck(client, host, target);
    if (refused) {
      ctx.io.err(`outpost: ${refused}`);
      return 1;
    }
    if (!_isLoopback(listen.host)) {
      ctx.io.err(
        `warning: --listen ${listen.host} is not loopback: anyone who can reach this machine on port ${listen.port || "(the one chosen)"} reaches ${ref} through it`,
      );
    }
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

/** Why forwarding to `target` on `host` cannot work, or undefined; the API's refusals are thrown. */
async function _precheck(client: Outpost, host: string, target: string): Promise<string | undefined> {
  const { host: row } = await client.hosts.get(host); // 404 for a host this tenant does not have
  if (row.status !== "online")
    return `${host} is ${row.status}: its agent is not connected, so nothing can be forwarded`;
  if (/^[0-9]+$/.test(target)) return undefined; // a bare port: the agent's --allow-loopback decides
  const res = await client.services.list(host);
  const reported = res.agent?.services ?? [];
  const known =
    res.services.some((s) => s.name === target) ||
    reported.some((s) => s.source === "agent" && s.name === target);
  if (known) return undefined;
  if (res.agent === null) return undefined; // an agent too old to report may have it in its own flags
  // An app deployed to the host is a service of its name, whichever release is live (Apps).
  const { items: apps } = await client.apps.list();
  if (apps.some((a) => a.app === target && a.host === row.fqdn)) return undefined;
  const names = [...new Set([...res.services.map((s) => s.name), ...reported.map((s) => s.name)])].sort();
  return `${host} has no service '${target}' (it has: ${names.join(", ") || "none"}); add one with 'outpost service add'`;
}
