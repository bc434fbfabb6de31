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
 * The value of the caller's cookie `name`, read as withoutCookie reads the header (so a cookie in the
 * second of two Cookie headers is found too), or undefined.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(/[;,]/)) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
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
