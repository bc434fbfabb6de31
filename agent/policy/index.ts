// The agent's network target policy: where a stream the control plane asks for may connect. Pure
// TypeScript with no runtime APIs; DNS comes in as a Resolver from the Bun or Deno adapter. Start
// reading at resolve-stream-target.ts.

export { checkApiServiceTarget } from "./check-api-service-target.ts";
export { cidrContains } from "./cidr-contains.ts";
export { classifyIp } from "./classify-ip.ts";
export { formatIp } from "./format-ip.ts";
export { type Cidr, parseCidr } from "./parse-cidr.ts";
export { parseIp } from "./parse-ip.ts";
export { parseTarget, type Target } from "./parse-target.ts";
export { resolveStreamTarget } from "./resolve-stream-target.ts";
export type { Decision, IpKind, PolicyConfig, Resolver, Service, ServiceSource } from "./types.ts";
