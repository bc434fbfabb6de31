// Prefixed, branded identifiers and secrets. A host id can't be passed where a cluster id is expected,
// and every id says what it is when it shows up in a log line or a row (tailscale's `nodekey:` idea).
// Names (DNS labels) never contain `_`, so `cl_…` can't collide with a cluster named by the user.

import { isHostId, newHostId } from "./protocol/keys.ts";

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

const ID_PREFIXES = {
  tenant: "ten",
  apiKey: "key",
  cluster: "cl",
  site: "site",
  host: "host",
  token: "tok",
  session: "ses",
  service: "svc",
  meshRoute: "mesh",
  exposure: "exp",
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

export type TenantId = Brand<string, "TenantId">;
export type ApiKeyId = Brand<string, "ApiKeyId">;
export type ClusterId = Brand<string, "ClusterId">;
export type SiteId = Brand<string, "SiteId">;
export type TokenId = Brand<string, "TokenId">;

/** Secret-bearing strings: an API key (`opk_…`) and an enrollment token (`oet_…`). */
export type ApiKeySecret = Brand<string, "ApiKeySecret">;
export type EnrollmentSecret = Brand<string, "EnrollmentSecret">;

// Crockford-ish lowercase base32 without ambiguous letters: ids stay readable and URL-safe.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** `n` random base32 characters (5 bits each) from the platform CSPRNG. */
export function randomBase32(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

export function newId<K extends IdKind>(kind: K): string {
  // Host ids travel in signed frames, so their format is the wire protocol's (protocol/keys.ts).
  if (kind === "host") return newHostId();
  return `${ID_PREFIXES[kind]}_${randomBase32(16)}`;
}

export function isId(kind: IdKind, value: string): boolean {
  if (kind === "host") return isHostId(value);
  return new RegExp(`^${ID_PREFIXES[kind]}_[${ALPHABET}]{16}$`).test(value);
}

export const SECRET_PREFIXES = { apiKey: "opk", enrollment: "oet" } as const;

/**
 * A secret is `<kind>_<lookup prefix, 12 chars>_<secret, 40 chars = 200 bits>`. The lookup prefix is
 * stored in clear to find the row; only a hash of the whole string is stored.
 */
export function newSecret(kind: keyof typeof SECRET_PREFIXES): { secret: string; prefix: string } {
  const prefix = randomBase32(12);
  return { prefix, secret: `${SECRET_PREFIXES[kind]}_${prefix}_${randomBase32(40)}` };
}

/** The lookup prefix of a well-formed secret, or null when it is not one of ours. */
export function secretPrefix(kind: keyof typeof SECRET_PREFIXES, secret: string): string | null {
  const m = new RegExp(`^${SECRET_PREFIXES[kind]}_([${ALPHABET}]{12})_[${ALPHABET}]{40}$`).exec(secret);
  return m ? m[1]! : null;
}
