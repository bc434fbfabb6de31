// base64 (RFC 4648 §4) and base64url (§5) for every part: one implementation, so the Worker, the agent
// and the SDK never hand-roll btoa/atob loops again. Both decoders are strict (canonical text only:
// no whitespace, no stray padding, no non-zero trailing bits), so a value has exactly one text form.

import { _fromBase64Url, _toBase64Url } from "./_bytes.ts";

/** Unpadded base64url of `bytes` (ids, keys, signatures, query parameters). */
export function toBase64Url(bytes: Uint8Array): string {
  return _toBase64Url(bytes);
}

/** The bytes of unpadded base64url `text`; throws TypeError when it is not canonical base64url. */
export function fromBase64Url(text: string): Uint8Array {
  const bytes = _fromBase64Url(text);
  if (bytes === undefined) throw new TypeError(`Cannot decode base64url: "${_clip(text)}" is not canonical`);
  return bytes;
}

/** Padded standard base64 of `bytes` (HTTP headers such as Sec-WebSocket-Accept and Basic auth). */
export function toBase64(bytes: Uint8Array): string {
  const url = _toBase64Url(bytes);
  return url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (url.length % 4)) % 4);
}

/** The bytes of padded standard base64 `text`; throws TypeError when it is not canonical base64. */
export function fromBase64(text: string): Uint8Array {
  const body = text.replace(/={1,2}$/, "");
  const bytes =
    text.length % 4 === 0 && !/[-_]/.test(body)
      ? _fromBase64Url(body.replace(/\+/g, "-").replace(/\//g, "_"))
      : undefined;
  if (bytes === undefined) throw new TypeError(`Cannot decode base64: "${_clip(text)}" is not canonical`);
  return bytes;
}

function _clip(text: string): string {
  return text.length > 24 ? `${text.slice(0, 24)}…` : text;
}
