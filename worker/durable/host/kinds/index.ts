// The HostDO's stream kinds, in one table. A client opens exec, pty, tcp, logs and console streams (odd stream ids, the
// control plane's); the agent opens mesh streams (even ids, its own: frames.ts). Nothing else in the
// object switches on a kind: a new kind is a module here and an entry below.
import { ApiError } from "../../../http/api-error.ts";
import { ConsoleKind } from "./console.ts";
import { ExecKind } from "./exec.ts";
import type { ClientKind, ClientOpen, Opened, Relay, StreamKind } from "./kind.ts";
import { LogsKind } from "./logs.ts";
import { MeshKind } from "./mesh.ts";
import { PtyKind } from "./pty.ts";
import { TcpKind } from "./tcp.ts";

export type { ClientKind, ClientOpen, ClientRequest, Opened, Relay } from "./kind.ts";

/** The kinds a client opens, by their stream request's kind (stream-request.ts). */
type ClientKinds = { [K in ClientKind]: StreamKind<ClientOpen<K>, Opened> };

/** One object's kinds (a kind may hold per-object state, as mesh does its peer sockets). */
export function streamKinds(relay: Relay): { client: ClientKinds; mesh: MeshKind } {
  return {
    client: {
      exec: new ExecKind(relay),
      pty: new PtyKind(relay),
      tcp: new TcpKind(relay),
      logs: new LogsKind(relay),
      console: new ConsoleKind(relay),
    },
    mesh: new MeshKind(relay),
  };
}

export type StreamKinds = ReturnType<typeof streamKinds>;

/** Opens a client's stream with the kind its request names. */
export function openClientStream<K extends ClientKind>(
  kinds: StreamKinds,
  open: ClientOpen<K>,
  agentCap: number,
): Opened {
  const kind: StreamKind<ClientOpen<K>, Opened> = kinds.client[open.req.kind];
  if (kind.capability !== undefined && agentCap < kind.capability) {
    throw new ApiError(
      409,
      "agent_too_old",
      `${open.req.hostName}'s agent (capability ${agentCap}) has no ${open.req.kind} streams; upgrade it`,
    );
  }
  return kind.open(open);
}

/** Every kind of the object, for what concerns them all (the agent connection went). */
export function allKinds(kinds: StreamKinds): Array<{ end(): void }> {
  return [...Object.values(kinds.client), kinds.mesh];
}

/** Which side opened stream `sid`: the agent's own (even) ids are mesh streams. */
export function openedByAgent(sid: number): boolean {
  return sid % 2 === 0;
}
