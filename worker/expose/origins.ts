// Which origin a request is for, and which names the control plane keeps for itself.
//
// Exposures are served only on origins of their own: `<name>.<EXPOSURE_DOMAIN>`, or a custom hostname
// inside a domain the platform admin granted to the exposure's tenant; never on the control plane's.
// A browser treats one origin as one trust domain: a cookie's Path is no boundary between pages of
// one origin (any page can fetch another's URLs with credentials and read the answer), and a service
// worker registered on an origin with `Service-Worker-Allowed: /` answers every URL of it. So two
// tenants' exposures, or an exposure and the API, sharing an origin would share everything.
//
// Security: the control plane's own names are recognised here from configuration alone (PUBLIC_URL,
// CONTROL_PLANE_HOSTNAMES, EXPOSURE_DOMAIN), before any row is read, so no row (however it got into
// the database) can take the API's hostname; and a custom hostname is looked up only when it is
// none of those, nor a parent or child of one.
import { z } from "zod";
import { NAME_PATTERN } from "../../schema/names.ts";
import type { Bindings } from "../env.ts";

/** An exposure's name: one DNS label, so that `<name>.<EXPOSURE_DOMAIN>` is one origin per exposure. */
export const EXPOSURE_NAME = NAME_PATTERN;
/** A DNS name with at least two labels; never an IP literal (its last label starts with a letter). */
const HOSTNAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A hostname field of a request body: lower-cased, then a DNS name of two labels or more. */
export const hostnameField = z
  .string()
  .max(253)
  .transform((h) => h.toLowerCase())
  .pipe(z.string().regex(HOSTNAME, { error: "must be a DNS name like app.example.com" }));

/** Names no tenant may hold: loopback names, and Cloudflare's workers.dev (the control plane's may be one). */
const PLATFORM_DOMAINS = ["localhost", "workers.dev"];

export type RequestOrigin =
  | { kind: "api" }
  /** `<name>.<EXPOSURE_DOMAIN>`; `name` is not necessarily an exposure's. */
  | { kind: "named"; name: string }
  /** A hostname that may be an exposure's custom hostname (it is none of the reserved names). */
  | { kind: "custom"; hostname: string };

const API: RequestOrigin = { kind: "api" };

/** `name` is `domain` or a name under it, on a label boundary (`evilacme.com` is not within `acme.com`). */
export function within(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/** The domains a hostname lies within that a grant could be: itself and its parents of two labels or more. */
export function grantCandidates(hostname: string): string[] {
  const labels = hostname.split(".");
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join("."));
}

/** The name in a Host header: lower case, without port or trailing dot; undefined for IP literals. */
function hostOf(header: string | undefined): string | undefined {
  const host = (header ?? "").trim().toLowerCase().replace(/:\d*$/, "").replace(/\.$/, "");
  return HOSTNAME.test(host) ? host : undefined;
}

/** EXPOSURE_DOMAIN as configured (lower case, no trailing dot), or undefined when it is not set. */
export function exposureDomain(env: Bindings): string | undefined {
  return env.EXPOSURE_DOMAIN?.trim().toLowerCase().replace(/\.$/, "") || undefined;
}

/** The control plane's own hostnames: PUBLIC_URL's and those in CONTROL_PLANE_HOSTNAMES. */
function controlPlaneHosts(env: Bindings): string[] {
  const hosts = (env.CONTROL_PLANE_HOSTNAMES ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase().replace(/\.$/, ""))
    .filter(Boolean);
  if (env.PUBLIC_URL) hosts.push(new URL(env.PUBLIC_URL).hostname.toLowerCase());
  return hosts;
}

/**
 * Why `name` may be neither granted to a tenant nor an exposure's custom hostname; undefined when it
 * may. Reserved are the exposure domain, the control plane's hostnames and the platform's domains,
 * every name under them, and every name above them: a parent would take them in (a grant of
 * `acme.com` holds `outpost.acme.com`), and a child may set cookies for them (RFC 6265 §5.3).
 */
export function reservedReason(env: Bindings, name: string): string | undefined {
  const domain = exposureDomain(env);
  if (domain && (within(name, domain) || within(domain, name)))
    return `'${name}' overlaps the exposure domain ${domain}, where exposures are served by their name`;
  for (const own of controlPlaneHosts(env))
    if (within(name, own) || within(own, name))
      return `'${name}' overlaps the control plane's own hostname ${own}`;
  for (const platform of PLATFORM_DOMAINS)
    if (within(name, platform) || within(platform, name))
      return `'${name}' lies under ${platform}, which no tenant may hold`;
  return undefined;
}

/**
 * Why `<name>.<EXPOSURE_DOMAIN>` may not be an exposure's origin, if so: it is the control plane's
 * own hostname, or the control plane's hostname lies under the exposure domain (a misconfiguration:
 * its name would be a possible exposure name, and its neighbours could set cookies for its parent
 * domains, RFC 6265 §5.3; so no exposure is made until it is fixed).
 */
export function reservedExposureName(env: Bindings, name: string): string | undefined {
  const domain = exposureDomain(env);
  const origin = `${name}.${domain}`;
  const own = controlPlaneHosts(env);
  if (own.includes(origin)) return `'${origin}' is the control plane's own hostname: choose another name`;
  // The apex itself may be the API's: it is no exposure's origin.
  const inside = own.find((h) => domain && h !== domain && within(h, domain));
  return inside
    ? `the exposure domain ${domain} holds the control plane's hostname ${inside}: the platform admin must give exposures a domain of their own (EXPOSURE_DOMAIN)`
    : undefined;
}

/**
 * What a request's Host makes it: the API, a named exposure's origin, or a possible custom hostname.
 * The control plane's own hostnames are decided first and are the API whatever the database holds.
 * Custom hostnames are served only when PUBLIC_URL tells the Worker its own name: without it the
 * Worker could not tell its hostname from a tenant's.
 */
export function requestOrigin(env: Bindings, hostHeader: string | undefined): RequestOrigin {
  const host = hostOf(hostHeader);
  if (!host || controlPlaneHosts(env).includes(host)) return API;
  const domain = exposureDomain(env);
  if (domain && host.endsWith(`.${domain}`))
    return { kind: "named", name: host.slice(0, -domain.length - 1) };
  if (!env.PUBLIC_URL || reservedReason(env, host)) return API;
  return { kind: "custom", hostname: host };
}

/** The URL of an origin of an exposure: the control plane's scheme and port, the exposure's host. */
export function originUrl(env: Bindings, requestUrl: string, host: string): string {
  const base = new URL(env.PUBLIC_URL ?? requestUrl);
  return `${base.protocol}//${host}${base.port ? `:${base.port}` : ""}/`;
}
