// Bearer-token check for the pipeline endpoints (RFC 6750 §2.1: `Authorization: Bearer <token>`), the
// header @libsql/client sends when it is given an `authToken`. Turso uses JWTs; locally one shared
// token is enough.
import { createHash, timingSafeEqual } from "node:crypto";

function _digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Returns a checker for one token. Comparing SHA-256 digests keeps the time independent of length too. */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = _digest(token);
  return (authorization) => {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
    // Compare even when the header is malformed, so that its shape does not show in the timing.
    const given = _digest(match?.[1] ?? "");
    return timingSafeEqual(expected, given) && match !== null;
  };
}
