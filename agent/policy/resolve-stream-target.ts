// The one decision the agent makes before opening a TCP stream for the control plane (tcp.open in
// schema/protocol/frames.ts). Default deny, enforced on the host itself, so that a compromised control
// plane cannot use the host as a pivot into its network:
//
//   want                 service source   allowed to reach
//   port (5432, "5432")  —                127.0.0.1:port, only with --allow-loopback
//   service name         local            whatever the owner wrote (any address, any name, unresolved)
//   service name         api              loopback, or networks opened with --allow-net; a name's every
//                                         resolved address is checked, and the checked one is returned
//   anything else        —                refused: unknown service
import { SERVICE_NAME_PATTERN as SERVICE_NAME } from "../../schema/names.ts";
import { _barePort } from "./_bare-port.ts";
import { _checkIpTarget } from "./_check-ip-target.ts";
import { _checkPolicy } from "./_check-policy.ts";
import { _isPortLike, _readPort } from "./_port.ts";
import { _quote } from "./_quote.ts";
import { _resolveName } from "./_resolve-name.ts";
import { _readTarget } from "./parse-target.ts";
import type { Decision, PolicyConfig, Resolver, Service } from "./types.ts";

const DOING = "resolve stream target";
/** Service names as tcp.open carries them; anything else is quoted when listed. */
/** Enough names to spot a typo, few enough for one line. */
const MAX_LISTED = 20;

/** A local-config service: the owner's word is final, but the text must still parse, never be guessed. */
function _localService(name: string, service: Service): Decision {
  const refuse = (why: string): Decision => ({
    ok: false,
    reason: `refused: service ${_quote(name)} in the agent's config: ${why}`,
  });
  if (_isPortLike(service.target)) {
    const read = _readPort(service.target);
    return "why" in read ? refuse(read.why) : { ok: true, address: "127.0.0.1", port: read.port };
  }
  const read = _readTarget(service.target);
  return "why" in read ? refuse(read.why) : { ok: true, address: read.target.host, port: read.target.port };
}

/** An API-added service: loopback or opened networks only, names checked by what they resolve to. */
async function _apiService(service: Service, policy: PolicyConfig, resolve: Resolver): Promise<Decision> {
  if (_isPortLike(service.target)) return _barePort(service.target, policy);
  const read = _readTarget(service.target);
  if ("why" in read) return { ok: false, reason: `refused: ${read.why}` };
  if (read.target.isIp) return _checkIpTarget(read.target, policy);
  return _resolveName(read.target.host, read.target.port, policy, resolve);
}

/** Decide where a stream for `want` (a service name, or a port number as number/string) may connect. */
export async function resolveStreamTarget(
  want: string | number,
  services: ReadonlyMap<string, Service>,
  policy: PolicyConfig,
  resolve: Resolver,
): Promise<Decision> {
  if (typeof want !== "string" && typeof want !== "number") {
    throw new TypeError(`Cannot ${DOING}: want must be a service name or a port, got ${typeof want}`);
  }
  if (typeof services?.get !== "function" || typeof services.keys !== "function") {
    throw new TypeError(`Cannot ${DOING}: services must be a Map of service name to Service`);
  }
  _checkPolicy(policy, DOING);
  if (typeof resolve !== "function") throw new TypeError(`Cannot ${DOING}: resolve must be a function`);

  if (typeof want === "number" || _isPortLike(want)) return _barePort(want, policy);
  const service = services.get(want);
  if (service === undefined) {
    const known = [...services.keys()].sort();
    const shown = known.slice(0, MAX_LISTED).map((k) => (SERVICE_NAME.test(k) ? k : _quote(k)));
    if (known.length > MAX_LISTED) shown.push(`and ${known.length - MAX_LISTED} more`);
    const list = known.length > 0 ? `known: ${shown.join(", ")}` : "this host declares no services";
    return { ok: false, reason: `unknown service ${_quote(want)} (${list})` };
  }
  if (typeof service.target !== "string") {
    throw new TypeError(`Cannot ${DOING}: service ${_quote(want)} has no target text`);
  }
  switch (service.source) {
    case "local":
      return _localService(want, service);
    case "api":
      return _apiService(service, policy, resolve);
    default:
      throw new TypeError(
        `Cannot ${DOING}: service ${_quote(want)} has source ${_quote(String(service.source))}`,
      );
  }
}
