// How the proxy frames the caller's request body for the service, decided from what the Worker
// receives. workerd reads the body by Transfer-Encoding when there is one but leaves the caller's
// Content-Length in the headers, so passing that header on would let a caller say "5 bytes" and send
// more: the service would read the rest as a second request, with headers of the caller's choosing.
import { ApiError } from "../http/api-error.ts";
import type { BodyFraming } from "./http1.ts";

/**
 * The framing of the body the proxy sends, or null when it sends none (no body, or GET and HEAD,
 * whose bodies have no defined meaning, RFC 9110 §9.3.1). ApiError when the caller's framing is
 * ambiguous or unsupported; checked for every request, with a body or not, before anything goes up.
 */
export function requestFraming(request: Request): BodyFraming | null {
  const te = request.headers.get("transfer-encoding");
  const cl = request.headers.get("content-length");
  if (te !== null && cl !== null)
    // RFC 9112 §6.1: such a message "ought to be handled as an error"; §6.3 item 3 allows a server to
    // reject it, and a proxy that forwarded it would be the desync the RFC warns about.
    throw ApiError.badRequest(
      "the request has both Content-Length and Transfer-Encoding, which frame its body in two ways (RFC 9112 §6.1); send only one of them",
      "ambiguous_framing",
    );
  if (te !== null) {
    const codings = te.split(",").map((c) => c.trim().toLowerCase());
    // Any coding besides chunked would reach the service still applied yet unannounced, since the
    // proxy sends its own framing; RFC 9112 §6.1 answers an unknown coding with 501.
    if (codings.length !== 1 || codings[0] !== "chunked")
      throw new ApiError(
        501,
        "unsupported_transfer_coding",
        `transfer coding ${JSON.stringify(te)} is not supported; send the body with Content-Length or 'Transfer-Encoding: chunked' alone`,
      );
  }
  const length = cl === null ? null : contentLength(cl);
  if (!request.body || request.method === "GET" || request.method === "HEAD") return null;
  return length === null ? { kind: "chunked" } : { kind: "length", length };
}

/** RFC 9110 §8.6: digits; repeats of one value (merged with ", ") may be read as one. */
function contentLength(value: string): number {
  const values = value.split(",").map((v) => v.trim());
  const first = values[0]!;
  const n = Number(first);
  if (!/^\d+$/.test(first) || values.some((v) => v !== first) || !Number.isSafeInteger(n))
    throw ApiError.badRequest(
      `the request's Content-Length ${JSON.stringify(value.slice(0, 40))} is not one decimal number; send one`,
      "bad_content_length",
    );
  return n;
}
