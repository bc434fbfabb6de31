// The one error class of the wire protocol. Everything that rejects bytes from the peer throws a
// ProtocolError; its `code` picks the WebSocket close code (see close-codes.ts), its message says what
// could not be done and why, deno std style: "Cannot decode frame: map nesting exceeds 16".

/** Why a message or connection was refused; each maps to one close code in close-codes.ts. */
export type ProtocolErrorCode =
  /** Not well-formed CBOR / COSE, or a frame whose shape is wrong. */
  | "malformed"
  /** A frame type this side does not know, or one that may not travel in this direction. */
  | "unknown_frame"
  /** A well-formed frame that is not allowed now (e.g. exec.open before hello, hello twice). */
  | "unexpected_frame"
  /** The signature does not verify for the key named by `kid`. */
  | "bad_signature"
  /** No key is known for `kid` on this connection. */
  | "unknown_key"
  /** The host's key was revoked. */
  | "revoked"
  /** The handshake or the heartbeats did not arrive in time. */
  | "timeout"
  /** A sequence number did not strictly increase, or a nonce did not match. */
  | "replay"
  /** A message over MAX_MESSAGE_BYTES. */
  | "too_big"
  /** The peer's protocol capability is too old for this side. */
  | "unsupported"
  /** The peer sends faster than it may. */
  | "rate_limited";

export class ProtocolError extends Error {
  override name = "ProtocolError";
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
