// A bare port (`5432`) means that port on 127.0.0.1, and only on hosts whose owner said so with
// --allow-loopback: without it, the control plane can reach nothing on the host that was not declared
// as a service.
import { _readPort } from "./_port.ts";
import type { Decision, PolicyConfig } from "./types.ts";

const BARE_PORT_REFUSAL = "refused: bare ports need an agent started with --allow-loopback";

/** The decision for a bare port asked for by the control plane. */
export function _barePort(value: string | number, policy: PolicyConfig): Decision {
  if (!policy.allowLoopback) return { ok: false, reason: BARE_PORT_REFUSAL };
  const read = _readPort(value);
  if ("why" in read) return { ok: false, reason: `refused: ${read.why}` };
  return { ok: true, address: "127.0.0.1", port: read.port };
}
