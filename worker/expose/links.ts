// Signed, expiring links to an exposure: `…/x/<name>/?outpost_link=<expires>.<mac>`. The MAC is
// HMAC-SHA256 under a key derived (HKDF) from the control plane's signing seed, over the exposure id,
// its link salt and the expiry, so a link opens only its own exposure, only until it expires, and only
// until the exposure's links are revoked (a new salt). Nothing secret is stored: the salt is public.

import { fromBase64Url, toBase64Url } from "../../schema/protocol/index.ts";
import { seedBytes } from "../auth/control-plane-key.ts";
import type { Bindings } from "../env.ts";

/** The query parameter a link carries, and the cookie that keeps a browser in afterwards. */
export const LINK_PARAM = "outpost_link";
export const LINK_COOKIE = "outpost_link";

/** Links live at most this long; a longer grant is an API key. */
export const MAX_LINK_TTL_S = 30 * 24 * 3600;

const keys = new WeakMap<Bindings, Promise<CryptoKey>>();

function linkKey(env: Bindings): Promise<CryptoKey> {
  let key = keys.get(env);
  if (!key) {
    key = (async () => {
      const ikm = await crypto.subtle.importKey("raw", seedBytes(env), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(0),
          info: new TextEncoder().encode("outpost expose links v1"),
        },
        ikm,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign", "verify"],
      );
    })();
    keys.set(env, key);
  }
  return key;
}

function message(exposureId: string, salt: string, expires: number): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`outpost-link/v1\n${exposureId}\n${salt}\n${expires}`);
}

/** A link's MAC (32 bytes, 43 characters) from its text, or null; one spelling per MAC (strict decoder). */
function macOf(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return null;
  try {
    return Uint8Array.from(fromBase64Url(text));
  } catch {
    return null; // the last character's two unused bits were not zero
  }
}

export interface Exposed {
  id: string;
  linkSalt: string;
}

/** A link token for `exposure`, valid until `expires` (seconds since the epoch). */
export async function signLink(env: Bindings, exposure: Exposed, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await linkKey(env),
    message(exposure.id, exposure.linkSalt, expires),
  );
  return `${expires}.${toBase64Url(new Uint8Array(mac))}`;
}

/** Seconds until the token expires when it is a valid link to `exposure` now; null otherwise. */
export async function verifyLink(env: Bindings, exposure: Exposed, token: string): Promise<number | null> {
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]+)$/.exec(token);
  if (!m) return null;
  const expires = Number(m[1]);
  const left = expires - Math.floor(Date.now() / 1000);
  const mac = macOf(m[2]!);
  if (!mac || left <= 0 || left > MAX_LINK_TTL_S) return null;
  // subtle.verify compares in constant time.
  const ok = await crypto.subtle.verify(
    "HMAC",
    await linkKey(env),
    mac,
    message(exposure.id, exposure.linkSalt, expires),
  );
  return ok ? left : null;
}
