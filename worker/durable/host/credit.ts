// Flow control at the relay (frames.ts, "Flow control"). The HostDO counts every data byte each side
// relays against the credit the other side granted, so that neither a hostile agent nor a hostile
// client can make the object (or the far reader's socket buffer in workerd) hold more than the
// receiver agreed to: before this, an agent granted 1 KiB sent 256 MiB and workerd grew by 220 MiB.
import { MAX_STREAM_CREDIT } from "../../../schema/protocol/limits.ts";

/** The error code a stream ends with when a side sends beyond its credit (closed with 4413). */
export const CREDIT_EXCEEDED = "credit_exceeded";

/**
 * Why `size` bytes of `frame` may not be relayed on stream `sid` with `left` bytes of credit, or
 * undefined when they may. `grantor` is the side whose credit was broken.
 */
export function overCredit(
  frame: string,
  size: number,
  left: number,
  sid: number,
  grantor: "client" | "host",
): string | undefined {
  if (size <= left) return undefined;
  return `${frame} of ${size} bytes exceeds the ${left} bytes of credit the ${grantor} granted on stream ${sid}`;
}

/**
 * How much of a grant of `bytes` to pass on when `outstanding` is already granted: never more than
 * MAX_STREAM_CREDIT in all, which bounds what the relay holds for a reader that grants and never reads.
 */
export function trimGrant(outstanding: number, bytes: number): number {
  return Math.max(0, Math.min(bytes, MAX_STREAM_CREDIT - outstanding));
}
