// DNS for the target policy (agent/policy, Resolver): every address a name has, from the system
// resolver (getaddrinfo, so /etc/hosts counts as it does for every other program on the host), within
// a deadline. node:dns is the same on Bun and on Deno, so this is core code rather than the seam's; it
// is imported on the first name to resolve (2 MiB of an idle Bun agent's RSS, idle-rss.ts).
import type { Resolver } from "../policy/index.ts";
import { _within } from "./_within.ts";

/** How long one name may take to resolve before the stream is refused. */
export const DNS_TIMEOUT_MS = 5000;

/** A Resolver over the system resolver, giving up after `timeoutMs`. */
export function dnsResolver(timeoutMs = DNS_TIMEOUT_MS): Resolver {
  return async (host) => {
    const { lookup } = await import("node:dns/promises");
    const answers = await _within(
      lookup(host, { all: true, verbatim: true }),
      timeoutMs,
      () => new Error(`no answer within ${timeoutMs} ms`),
    );
    return answers.map((answer) => answer.address);
  };
}
