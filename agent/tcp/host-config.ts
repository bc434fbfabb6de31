// The `config` frame's map (frames.ts leaves it opaque; the HostDO's #pushConfig fills it):
//
//   { services:  [{ name: tstr, target: tstr }],              ; services added through the API
//     listeners: [{ route: tstr, listen: tstr, to: tstr }] }  ; mesh routes that start on this host
//
// Read defensively: it comes from the control plane, which this host trusts only as far as its own
// policy allows. A bad entry is skipped with a log line and never stops the others; unknown keys are
// ignored, so the control plane can add some before agents know them.
import type { CborMap, CborValue } from "../../schema/protocol/index.ts";
import { classifyIp, parseIp, parseTarget, type Service } from "../policy/index.ts";

/** Service names and route ids as tcp.open carries them (frames.ts). */
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** More entries than any host needs; the rest are ignored. */
const MAX_ENTRIES = 1024;
/** The longest target text the policy reads (a 253-character name, a port and brackets). */
const MAX_TARGET = 261;

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

export interface HostConfig {
  services: Service[];
  listeners: ListenerSpec[];
}

/** `text` fit for a log line: printable ASCII, quoted, cut short. */
export function printable(value: unknown): string {
  if (typeof value !== "string") return value instanceof Map ? "a map" : typeof value;
  const cut = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  return `'${cut.replace(/[^\x20-\x7e]|['\\]/g, "?")}'`;
}

/** The maps listed under `key`, each with its index in the list (for log lines). */
function _entries(config: CborMap, key: string, log: (line: string) => void): [number, CborMap][] {
  const list = config.get(key);
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    log(`config from the control plane: ignored ${key}: expected a list, got ${printable(list)}`);
    return [];
  }
  if (list.length > MAX_ENTRIES) {
    log(
      `config from the control plane: ${key} has ${list.length} entries; only the first ${MAX_ENTRIES} are used`,
    );
  }
  const maps: [number, CborMap][] = [];
  for (const [i, entry] of list.slice(0, MAX_ENTRIES).entries()) {
    if (entry instanceof Map) maps.push([i, entry]);
    else log(`config from the control plane: ignored ${key}[${i}]: expected a map, got ${printable(entry)}`);
  }
  return maps;
}

function _text(entry: CborMap, key: string): string | undefined {
  const value: CborValue | undefined = entry.get(key);
  return typeof value === "string" ? value : undefined;
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

/** The services and listeners in `config`, every bad entry logged and left out. */
export function parseHostConfig(config: CborMap, log: (line: string) => void): HostConfig {
  const services: Service[] = [];
  const names = new Set<string>();
  for (const [i, entry] of _entries(config, "services", log)) {
    const name = _text(entry, "name");
    const target = _text(entry, "target");
    const skip = (why: string) => log(`config from the control plane: ignored services[${i}]: ${why}`);
    if (name === undefined || !NAME.test(name))
      skip(`name ${printable(entry.get("name"))} is not a service name`);
    else if (target === undefined || target.length > MAX_TARGET) {
      skip(`service '${name}' has target ${printable(entry.get("target"))}, not host:port text`);
    } else if (names.has(name)) skip(`service '${name}' is listed twice`);
    else {
      names.add(name);
      services.push({ name, target, source: "api" });
    }
  }

  const listeners: ListenerSpec[] = [];
  const routes = new Set<string>();
  const addresses = new Set<string>();
  for (const [i, entry] of _entries(config, "listeners", log)) {
    const route = _text(entry, "route");
    const listenText = _text(entry, "listen");
    const to = _text(entry, "to");
    const skip = (why: string) => log(`config from the control plane: ignored listeners[${i}]: ${why}`);
    if (route === undefined || !NAME.test(route)) {
      skip(`route ${printable(entry.get("route"))} is not a route id`);
      continue;
    }
    if (routes.has(route)) {
      skip(`mesh route ${route} is listed twice`);
      continue;
    }
    if (listenText === undefined || listenText.length > MAX_TARGET) {
      skip(`mesh route ${route}: listen ${printable(entry.get("listen"))} is not address:port text`);
      continue;
    }
    const listen = _readListen(listenText);
    if ("why" in listen) {
      log(`mesh route ${route}: refused to listen on ${printable(listenText)}: ${listen.why}`);
      continue;
    }
    const canonical = listen.host.includes(":")
      ? `[${listen.host}]:${listen.port}`
      : `${listen.host}:${listen.port}`;
    if (addresses.has(canonical)) {
      skip(`mesh route ${route}: another route already listens on ${canonical}`);
      continue;
    }
    routes.add(route);
    addresses.add(canonical);
    listeners.push({
      route,
      host: listen.host,
      port: listen.port,
      listen: canonical,
      to: to !== undefined ? printable(to).slice(1, -1) : "?",
    });
  }
  return { services, listeners };
}
