// Cookies as an exposure passes them: the caller's Cookie header on the way up, the service's
// Set-Cookie headers on the way down.

/**
 * The caller's cookies without `name`, joined with "; " (RFC 6265 §5.4). Several Cookie headers reach
 * the Worker merged with ", " (workerd joins repeated fields that way), so "," separates cookies too;
 * a cookie value may not contain one (cookie-octet, RFC 6265 §4.1.1), so nothing valid is split.
 * Names are compared trimmed, the way lenient servers read them, so no spelling of `name` slips by.
 */
export function withoutCookie(header: string, name: string): string {
  return header
    .split(/[;,]/)
    .map((s) => s.trim())
    .filter((s) => s && s.split("=", 1)[0]!.trim() !== name)
    .join("; ");
}

/**
 * A service's Set-Cookie without any Domain attribute: the cookie becomes host-only (RFC 6265 §5.3
 * step 6), so a service cannot set cookies for a parent domain and through it for its sibling
 * exposures (`Domain=localhost` reaches every `<name>.localhost`). Everything else is kept as written.
 */
export function hostOnly(setCookie: string): string {
  const [pair, ...attributes] = setCookie.split(";");
  const kept = attributes.filter((a) => a.split("=", 1)[0]!.trim().toLowerCase() !== "domain");
  return [pair, ...kept].join(";");
}
