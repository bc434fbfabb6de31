// The HostDO's stream kinds, in one table. A client opens exec and tcp streams (odd stream ids, the
// control plane's); the agent opens mesh streams (even ids, its own: frames.ts). Nothing else in the
// object switches on a kind: a new kind is a module here and an entry below.
import type { ClientAttachment } from "../attachments.ts";
import { ExecKind } from "./exec.ts";
import type { Relay } from "./kind.ts";
import { MeshKind } from "./mesh.ts";
import { TcpKind } from "./tcp.ts";

export type { AgentStreamFrame, ClientStream, Opened, Relay, StreamKind } from "./kind.ts";

/** One object's kinds (a kind may hold per-object state, as mesh does its peer sockets). */
export function streamKinds(relay: Relay) {
  return {
    exec: new ExecKind(relay),
    tcp: new TcpKind(relay),
    mesh: new MeshKind(relay),
  } satisfies Record<ClientAttachment["kind"] | "mesh", unknown>;
}

export type StreamKinds = ReturnType<typeof streamKinds>;

/** Which side opened stream `sid`: the agent's own (even) ids are mesh streams. */
export function openedByAgent(sid: number): boolean {
  return sid % 2 === 0;
}
