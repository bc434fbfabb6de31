// Cluster, site, host and exposure names are DNS labels (RFC 1123 §2.1, lowercase only), so that
// `web01.prod` reads like a hostname and can become one, and an exposure's name can be the first label
// of its own origin, `<name>.<exposure domain>`.
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const NAME_RULE =
  "a DNS label: 1-63 lowercase letters, digits or '-', not starting or ending with '-'";

/**
 * Service names (a host's named TCP targets: `ssh`, `postgres`, `web.v2`) and mesh route ids: 1-63
 * characters, lowercase letters, digits, '.', '_' or '-', starting with a letter or digit. The agent's
 * flags, the API, the SDK and tcp.open (frames.ts) all check this one rule.
 */
export const SERVICE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const SERVICE_NAME_RULE =
  "1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit";

export function isServiceName(value: string): boolean {
  return SERVICE_NAME_PATTERN.test(value);
}

/** A TCP target as a client names it: a service name, or a port (1-99999 as text; ports are checked later). */
export const TARGET_PATTERN = /^(?:[a-z0-9][a-z0-9._-]{0,62}|[1-9][0-9]{0,4})$/;

/** Label keys/values on hosts: `k=v`, keys like Kubernetes label names, short values. */
export const LABEL_KEY_PATTERN = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
export const LABEL_VALUE_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$|^$/;

/** Parses a time-to-live like `30m`, `2h`, `90s`, `1d` into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as "ms" | "s" | "m" | "h" | "d"
  ];
  return Number(m[1]) * unit;
}

/**
 * outpost.toml `user`: a POSIX-portable user name (lowercase, starting with a letter or '_', as
 * useradd accepts by default; never a '-' first, so never an option to setpriv, getent or podman)
 * or a numeric uid.
 */
export const USER_PATTERN = /^(?:[a-z_][a-z0-9_-]{0,31}|\d{1,10})$/;
