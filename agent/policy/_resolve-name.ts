// An API-added service written with a DNS name, at connect time. Every address the name resolves to
// is checked, not the name, and one forbidden address refuses the lot: a name that answers with both a
// harmless and a forbidden address is how DNS rebinding picks its moment. The agent then connects to
// the address checked here, never to the name again, so a second lookup cannot change the answer.
import { _checkAddress, _refusedResolution } from "./_check-address.ts";
import { _quote } from "./_quote.ts";
import { formatIp } from "./format-ip.ts";
import { _tryParseIp } from "./parse-ip.ts";
import type { Decision, PolicyConfig, Resolver } from "./types.ts";

const MAX_DETAIL = 160;

/** An error's message as one short printable line. */
function _detail(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.replace(/[^\x20-\x7e]+/g, " ").trim();
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL)}...` : line || "no reason given";
}

/** Resolves `name`, checks every address, and decides on the first one. */
export async function _resolveName(
  name: string,
  port: number,
  policy: PolicyConfig,
  resolve: Resolver,
): Promise<Decision> {
  let answers: unknown;
  try {
    answers = await resolve(name);
  } catch (error) {
    return { ok: false, reason: `refused: cannot resolve ${name} (${_detail(error)})` };
  }
  if (!Array.isArray(answers) || answers.length === 0) {
    return { ok: false, reason: `refused: ${name} does not resolve to any address` };
  }
  let first: string | undefined;
  for (const answer of answers) {
    const ip = typeof answer === "string" ? _tryParseIp(answer) : undefined;
    if (ip === undefined) {
      const shown = typeof answer === "string" ? _quote(answer) : typeof answer;
      return { ok: false, reason: `refused: ${name} resolves to ${shown}, which is not a valid address` };
    }
    const refusal = _checkAddress(ip, policy);
    if (refusal !== undefined) return { ok: false, reason: _refusedResolution(name, refusal) };
    first ??= formatIp(ip);
  }
  return { ok: true, address: first!, port };
}
