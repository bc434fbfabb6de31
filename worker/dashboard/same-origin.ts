// Cross-site request checks for the dashboard: a state-changing request (and the terminal's WebSocket
// upgrade, which carries the cookie) must come from the dashboard's own pages. Browsers send
// Sec-Fetch-Site and Origin on these; a request with neither is refused (a browser always sends Origin
// on a POST and on a WebSocket handshake), and so is one from any other origin.
import type { Bindings } from "../env.ts";

/** The parts of a request context these checks read (any route's context has them). */
interface RequestParts {
  req: { url: string; header(name: string): string | undefined };
  env: Pick<Bindings, "PUBLIC_URL">;
}

/** The origins the dashboard is served on: the request's own, and PUBLIC_URL's when set. */
function ownOrigins(c: RequestParts): string[] {
  const own = [new URL(c.req.url).origin];
  if (c.env.PUBLIC_URL) {
    try {
      own.push(new URL(c.env.PUBLIC_URL).origin);
    } catch {
      // a malformed PUBLIC_URL adds nothing
    }
  }
  return own;
}

/** Why the request is not same-origin, or null when it is. */
export function crossSiteReason(c: RequestParts): string | null {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin") return `Sec-Fetch-Site is '${site}'`;
  const origin = c.req.header("origin");
  if (origin === undefined) return site === undefined ? "no Origin header" : null;
  return ownOrigins(c).includes(origin) ? null : "Origin is another site's";
}
