// The shapes the target policy speaks in. The agent's config parser fills PolicyConfig and the local
// services; the control plane's `config` frame fills the API services; the runtime adapters (Bun, Deno)
// supply a Resolver that does real DNS.
import type { Cidr } from "./parse-cidr.ts";

/** What an address is, by the IANA special-purpose registries (RFC 6890) and the clouds' metadata IPs. */
export type IpKind =
  | "loopback"
  | "private"
  | "link-local"
  | "metadata"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "reserved"
  | "public";

export interface PolicyConfig {
  /** `--allow-loopback`: a stream may name a bare port, meaning that port on 127.0.0.1. */
  readonly allowLoopback: boolean;
  /** `--allow-net <cidr>` (repeatable): networks that API-added services may point into. */
  readonly allowNets: readonly Cidr[];
}

/** "local": `--service name=host:port` in the agent's own config. "api": added by the control plane. */
export type ServiceSource = "local" | "api";

export interface Service {
  readonly name: string;
  /** `host:port`, `[v6]:port`, or a bare port (127.0.0.1). */
  readonly target: string;
  readonly source: ServiceSource;
}

/**
 * A name's addresses as IP text (plain IPv4 and IPv6: no zone ids, no IPv4-mapped forms, which are
 * refused). Rejects when the name does not resolve; the adapter also bounds how long it may take.
 */
export type Resolver = (host: string) => Promise<string[]>;

/**
 * Where a stream may connect, or why not. `address` is an IP in canonical text (IPv6 without brackets),
 * except for a local-config service written with a name: that name is returned as the owner wrote it.
 * `reason` is one line for the person who asked.
 */
export type Decision = { ok: true; address: string; port: number } | { ok: false; reason: string };
