// The control plane's `config` as this host applies it: API services for the target policy, and the
// mesh listeners to bind. Its layout was checked whole when the frame was decoded (frames.ts), so a
// malformed config never gets here; this host's own policy still has the last word on every listener
// address, since it trusts the control plane only as far as that policy allows.
import type { HostConfig } from "../../schema/protocol/index.ts";
import { classifyIp, parseIp, parseTarget, type Service } from "../policy/index.ts";

/** A mesh route's listener, checked: `listen` is a loopback address and port. */
export interface ListenerSpec {
  route: string;
  host: string;
  port: number;
  /** `host:port` as the agent binds it ("127.0.0.1:15432", "[::1]:15432"). */
  listen: string;
  /** Where the route goes ("db01.prod:postgres"), for log lines only. */
  to: string;
}

export interface AppliedConfig {
  services: Service[];
  listeners: ListenerSpec[];
  /** Listeners this host's policy refused, and why. */
  refused: { route: string; listen: string; why: string }[];
}

/** The listen address of a route, or why it is refused: mesh listeners bind loopback only. */
function _readListen(text: string): { host: string; port: number } | { why: string } {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseTarget(text));
  } catch (error) {
    return { why: (error as Error).message.replace(/^Cannot parse target: /, "") };
  }
  let loopback = false;
  try {
    // Plain 127.0.0.0/8 or ::1: not an IPv4-mapped spelling, which would bind an IPv6 socket.
    loopback = (host === "::1" || !host.includes(":")) && classifyIp(parseIp(host)) === "loopback";
  } catch {}
  if (!loopback) return { why: "not a loopback address (mesh listeners bind 127.0.0.0/8 or [::1] only)" };
  return { host, port };
}

/** The services and listeners of `config`; a listener this host's policy refuses is logged and left out. */
export function parseHostConfig(config: HostConfig, log: (line: string) => void): AppliedConfig {
  const services = config.services.map(({ name, target }): Service => ({ name, target, source: "api" }));
  const listeners: ListenerSpec[] = [];
  const refused: AppliedConfig["refused"] = [];
  for (const { route, listen: text, to } of config.listeners) {
    const listen = _readListen(text);
    if ("why" in listen) {
      log(`mesh route ${route}: refused to listen on '${text}': ${listen.why}`);
      refused.push({ route, listen: text, why: listen.why });
      continue;
    }
    // The only spelling of its address that both frames.ts and the policy admit: the frame's rule
    // that no two listeners share a `listen` already keeps two routes off one address.
    listeners.push({ route, host: listen.host, port: listen.port, listen: text, to });
  }
  return { services, listeners, refused };
}
