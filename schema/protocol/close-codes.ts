// WebSocket close codes used between agent and control plane. 4000–4999 is the range RFC 6455 §7.4.2
// leaves to applications; the last three digits echo the HTTP status with the nearest meaning so they
// read at a glance in logs. Listed here, next to the frames (frames.ts), and nowhere else.

import { ProtocolError, type ProtocolErrorCode } from "./errors.ts";

export const CloseCode = {
  /** Normal closure (RFC 6455): the side is done, e.g. the agent is shutting down cleanly. */
  NORMAL: 1000,
  /** Going away (RFC 6455): the control plane object is being evicted or redeployed; reconnect. */
  GOING_AWAY: 1001,
  /** Internal error (RFC 6455): a bug on the closing side, not the peer's fault; reconnect with backoff. */
  INTERNAL_ERROR: 1011,
  /** Malformed frame: bad CBOR or COSE, wrong shape, unknown frame type, frame not allowed now. */
  MALFORMED: 4400,
  /** Bad signature or unknown key id: the peer is not who it claims to be. Do not retry blindly. */
  UNAUTHORIZED: 4401,
  /** The host is revoked (or its tenant suspended): the agent must stop reconnecting. */
  REVOKED: 4403,
  /**
   * A stream's target is not there (HTTP 404): a VM console on a VM the host does not have, or one that
   * is not running or stopped while attached. The stream's error frame says which.
   */
  NOT_FOUND: 4404,
  /** Handshake did not finish, or heartbeats stopped, within the allowed time. */
  TIMEOUT: 4408,
  /** Replay: a sequence number went backwards or repeated, or the challenge nonce did not match. */
  REPLAY: 4409,
  /**
   * A message was larger than MAX_MESSAGE_BYTES, or a stream's data went beyond the credit its receiver
   * granted (frames.ts, flow control): in both the peer sent more than the receiver agreed to hold
   * (HTTP 413). A credit breach closes that stream's client socket (error `credit_exceeded`) and the
   * agent gets `close` for it; the agent's connection and its other streams go on, since the breach
   * costs the relay nothing once the data is dropped, and one stream's bug need not end every stream.
   */
  TOO_BIG: 4413,
  /** The peer's protocol capability is older than this side supports: upgrade the agent. */
  UPGRADE_REQUIRED: 4426,
  /** The peer sent more than its rate limit allows; reconnect after a backoff. */
  RATE_LIMITED: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const CLOSE_CODE_BY_ERROR: Record<ProtocolErrorCode, CloseCode> = {
  malformed: CloseCode.MALFORMED,
  unknown_frame: CloseCode.MALFORMED,
  unexpected_frame: CloseCode.MALFORMED,
  bad_signature: CloseCode.UNAUTHORIZED,
  unknown_key: CloseCode.UNAUTHORIZED,
  revoked: CloseCode.REVOKED,
  timeout: CloseCode.TIMEOUT,
  replay: CloseCode.REPLAY,
  too_big: CloseCode.TOO_BIG,
  unsupported: CloseCode.UPGRADE_REQUIRED,
  rate_limited: CloseCode.RATE_LIMITED,
};

/** The close code to send for `error`: its mapping when a ProtocolError, 1011 for anything else. */
export function closeCodeFor(error: unknown): CloseCode {
  return error instanceof ProtocolError ? CLOSE_CODE_BY_ERROR[error.code] : CloseCode.INTERNAL_ERROR;
}

// RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the code.
const MAX_REASON_BYTES = 123;

/**
 * The close reason to send with closeCodeFor(error): a ProtocolError's message cut to the 123 UTF-8
 * bytes a close frame can carry; a generic text for other errors, so internals do not leak to the peer.
 */
export function closeReasonFor(error: unknown): string {
  if (!(error instanceof ProtocolError)) return "internal error";
  const encoder = new TextEncoder();
  const chars = Array.from(error.message); // code points, so a surrogate pair is never split
  while (encoder.encode(chars.join("")).length > MAX_REASON_BYTES) chars.pop();
  return chars.join("");
}
