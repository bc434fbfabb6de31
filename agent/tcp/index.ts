// TCP streams (frames.ts, "Flow control and byte streams"): the ones the control plane opens to this
// host's services and ports, and the ones this host opens for its mesh routes' listeners. Start
// reading at tcp-streams.ts; host-network.ts holds what outlives a connection.
export { CONNECT_TIMEOUT_MS, connectFailure, connectWithin, hostPort } from "./connect.ts";
export { type AppliedConfig, type ListenerSpec, parseHostConfig } from "./host-config.ts";
export { HostNetwork, type HostNetworkOptions } from "./host-network.ts";
export { MeshListeners, type MeshServer } from "./mesh-listeners.ts";
export { DNS_TIMEOUT_MS, dnsResolver } from "./resolver.ts";
export { TCP_WINDOW_BYTES, TcpStream } from "./tcp-stream.ts";
export {
  MESH_OPEN_TIMEOUT_MS,
  type StreamTargets,
  TcpStreams,
  type TcpStreamsOptions,
} from "./tcp-streams.ts";
