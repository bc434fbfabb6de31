// Whether a caller's Authorization header carries an Outpost credential, which must never reach an
// exposed service: a service (or whoever runs the host) that saw one could replay it against the
// control plane.
import { SECRET_PREFIXES } from "../../schema/ids.ts";

// Secrets we mint (`opk_…`, `oet_…`) and the platform token as `scripts/local` makes it (`opa_…`),
// found anywhere a token may start: not inside a longer base64url word, so an app's own JWT that
// happens to contain "opk_" is not taken for one.
const OUTPOST_SECRET = new RegExp(
  `(?:^|[^A-Za-z0-9_-])(?:${[...Object.values(SECRET_PREFIXES), "opa"].join("|")})_`,
);

/**
 * True when `header` (every Authorization field the caller sent, merged with ", ") holds an Outpost
 * credential in any scheme: as a bearer token, inside Basic's `user:password`, or in clear.
 * `adminToken` is the platform token, which an operator may have chosen without the `opa_` prefix.
 */
export function carriesOutpostCredential(header: string, adminToken: string | undefined): boolean {
  const texts = [header, ...basicCredentials(header)];
  return texts.some((t) => OUTPOST_SECRET.test(t) || (!!adminToken && t.includes(adminToken)));
}

/** The decoded `user:password` of each Basic credential in the header (RFC 7617), as far as valid. */
function basicCredentials(header: string): string[] {
  const out: string[] = [];
  for (const m of header.matchAll(/(?:^|,)\s*basic\s+([A-Za-z0-9+/=]+)/gi)) {
    try {
      out.push(atob(m[1]!));
    } catch {
      // Not base64: the raw header was searched already.
    }
  }
  return out;
}
