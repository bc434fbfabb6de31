// Batons (HRANA_3_SPEC.md §"Execute a pipeline of requests": batons "should be unpredictable and
// unforgeable, for example by cryptographically signing them").
//
// Layout, base64url without padding, 56 bytes in all (the same scheme as sqld's http/stream.rs):
//   stream id  16 bytes  random
//   sequence    8 bytes  big-endian; starts random, +1 per pipeline request, so each baton works once
//   MAC        32 bytes  HMAC-SHA256(server key, stream id ‖ sequence)
import { createHmac, timingSafeEqual } from "node:crypto";

export const STREAM_ID_BYTES = 16;
const ID_BYTES = STREAM_ID_BYTES;
const SEQ_BYTES = 8;
const MAC_BYTES = 32;
const PAYLOAD_BYTES = ID_BYTES + SEQ_BYTES;

export interface BatonContent {
  /** The stream id, hex. */
  streamId: string;
  seq: bigint;
}

function _mac(key: Buffer, payload: Buffer): Buffer {
  return createHmac("sha256", key).update(payload).digest();
}

export function encodeBaton(key: Buffer, content: BatonContent): string {
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  payload.write(content.streamId, 0, ID_BYTES, "hex");
  payload.writeBigUInt64BE(content.seq, ID_BYTES);
  return Buffer.concat([payload, _mac(key, payload)]).toString("base64url");
}

/** The content of a baton this server signed, or undefined for anything else. */
export function decodeBaton(key: Buffer, baton: string): BatonContent | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(baton)) return undefined;
  const data = Buffer.from(baton, "base64url");
  if (data.length !== PAYLOAD_BYTES + MAC_BYTES) return undefined;
  const payload = data.subarray(0, PAYLOAD_BYTES);
  // Constant-time: the MAC must not be guessable byte by byte from response times.
  if (!timingSafeEqual(data.subarray(PAYLOAD_BYTES), _mac(key, payload))) return undefined;
  return {
    streamId: payload.subarray(0, ID_BYTES).toString("hex"),
    seq: payload.readBigUInt64BE(ID_BYTES),
  };
}
