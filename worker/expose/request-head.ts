// The request head an exposed service receives: the caller's request line and headers minus what
// describes only the caller's hop, what the proxy owns and the caller's Outpost credentials, plus
// the identity and forwarding headers the proxy sets. Body framing is request-framing.ts's.
//
// Threat model: the caller is anyone on the internet (public exposures, link holders) and the service
// trusts what this head says about who is calling. So no caller header may be read by the service as
// one the proxy sets, in any spelling its server understands, and no credential of the control plane
// may reach a service that could replay it.

import type { ApiKeyId, ExposureId, TenantId } from "../../schema/ids.ts";
import { withoutCookie } from "./cookies.ts";
import { carriesOutpostCredential } from "./credentials.ts";
import { LINK_COOKIE, LINK_PARAM } from "./links.ts";

/** Who is calling, as the upstream is told. */
export type Identity =
  | { kind: "key"; keyId: ApiKeyId; tenantId: TenantId; role: string }
  | { kind: "link"; exposureId: ExposureId }
  | { kind: "public" };

const IDENTITY_HEADERS = {
  caller: "x-outpost-caller",
  keyId: "x-outpost-key-id",
  tenant: "x-outpost-tenant",
  role: "x-outpost-role",
} as const;

/** Connection-level headers (RFC 9110 §7.6.1), and the framing ones the proxy sets itself. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "host",
  "content-length",
]);

/**
 * Whether a header (by lower-case name) stays on its hop: a connection-level one, or one that the
 * message's Connection header (its `values`) names, which makes it so (RFC 9110 §7.6.1).
 */
export function hopByHop(values: readonly string[]): (name: string) => boolean {
  const named = new Set(
    values.flatMap((v) =>
      v
        .toLowerCase()
        .split(",")
        .map((s) => s.trim()),
    ),
  );
  return (name) => HOP_BY_HOP.has(name) || named.has(name);
}

/** Headers the proxy owns on the way up: a caller's copies are dropped so nobody can claim an identity. */
const OWNED = /^(?:x-outpost-|x-forwarded-|forwarded$|x-real-ip$|cf-)/;

/**
 * Security: every header whose name has an underscore is dropped, as nginx does by default
 * (`underscores_in_headers off`). CGI (RFC 3875 §4.1.18) and the WSGI and Rack environments built on
 * it turn `-` into `_`, so `X_Outpost_Role` reads as `HTTP_X_OUTPOST_ROLE` exactly like the header the
 * proxy sets, and whichever comes last may win. Normalising only our own names would still let a
 * caller forge any other header an app trusts from its front proxy (`X_Remote_User`); dropping them
 * all closes the whole class, and apps used to sitting behind nginx already do without them.
 */
const AMBIGUOUS_NAME = /_/;

export interface HeadOptions {
  identity: Identity;
  /** The path prefix the exposure is served under (`/x/<name>`), or "" when served at a hostname. */
  prefix: string;
  /** The platform admin token (a credential of ours in whatever shape the operator chose). */
  adminToken: string | undefined;
}

/** The upstream request line's target and headers (framing headers excepted). */
export function upstreamHead(
  request: Request,
  opts: HeadOptions,
  isUpgrade: boolean,
): { target: string; headers: [string, string][] } {
  const url = new URL(request.url);
  const path = url.pathname.slice(opts.prefix.length) || "/";
  const target = `${path.startsWith("/") ? path : `/${path}`}${withoutParam(url.search, LINK_PARAM)}`;

  const hop = hopByHop([request.headers.get("connection") ?? ""]);
  const headers: [string, string][] = [["host", url.host]];
  for (const [name, value] of request.headers) {
    if (hop(name) || OWNED.test(name) || AMBIGUOUS_NAME.test(name)) continue;
    if (name.startsWith("sec-websocket-") && (!isUpgrade || name !== "sec-websocket-protocol")) continue;
    if (name === "authorization" && !passAuthorization(value, opts)) continue;
    if (name === "cookie") {
      const kept = withoutCookie(value, LINK_COOKIE);
      if (kept) headers.push([name, kept]);
      continue;
    }
    headers.push([name, value]);
  }
  const id = opts.identity;
  headers.push([IDENTITY_HEADERS.caller, id.kind === "key" ? `key:${id.keyId}` : id.kind]);
  if (id.kind === "key") {
    headers.push(
      [IDENTITY_HEADERS.keyId, id.keyId],
      [IDENTITY_HEADERS.tenant, id.tenantId],
      [IDENTITY_HEADERS.role, id.role],
    );
  }
  const client = request.headers.get("cf-connecting-ip");
  if (client) headers.push(["x-forwarded-for", client]);
  headers.push(["x-forwarded-proto", url.protocol.replace(":", "")], ["x-forwarded-host", url.host]);
  if (opts.prefix) headers.push(["x-forwarded-prefix", opts.prefix]);
  return { target, headers };
}

/**
 * A keyed caller's Authorization carried the API key the gateway checked: never passed. Anyone else's
 * is passed unless it carries an Outpost credential: a public app (or one opened by a link) may run
 * its own Basic or bearer auth behind the exposure, and the control plane did not read that header,
 * but a key or the platform token sent there by mistake (or by a caller fishing for the service to
 * log it) is still ours to keep from the service.
 */
function passAuthorization(value: string, opts: HeadOptions): boolean {
  return opts.identity.kind !== "key" && !carriesOutpostCredential(value, opts.adminToken);
}

/**
 * `search` without any `name` parameter, the rest kept byte for byte: re-serialising through
 * URLSearchParams would change what the service reads (`%20` becomes `+`). A piece is matched the way
 * the gateway's `searchParams.get` decodes it, so every spelling the gateway accepts is removed.
 */
function withoutParam(search: string, name: string): string {
  if (!search) return "";
  const kept = search
    .slice(1)
    .split("&")
    .filter((piece) => [...new URLSearchParams(piece).keys()][0] !== name);
  return kept.length ? `?${kept.join("&")}` : "";
}
