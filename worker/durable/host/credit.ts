// Flow control at the relay (frames.ts, "Flow control"). The HostDO counts every data byte each side
// relays against the credit the other side granted, so that neither a hostile agent nor a hostile
// client can make the object (or the far reader's socket buffer in workerd) hold more than the
// receiver agreed to: before this, an agent granted 1 KiB sent 256 MiB and workerd grew by 220 MiB.
// The count is the protocol's ReceiveWindow, whose state is one number kept in the stream's attachment
// (it must survive hibernation): a window is made from it for each frame and its `left` stored back.
import { MAX_STREAM_CREDIT, ReceiveWindow } from "../../../schema/protocol/index.ts";
import type { ClientAttachment } from "./attachments.ts";

/** The error code a stream ends with when a side sends beyond its credit (closed with 4413). */
export const CREDIT_EXCEEDED = "credit_exceeded";

/**
 * What the agent may still send to `c`'s client: the client's grants less what was relayed, never
 * more than MAX_STREAM_CREDIT outstanding, which bounds what the relay holds for a reader that grants
 * and never reads (grant() trims beyond it).
 */
export function clientGrants(c: Pick<ClientAttachment, "credit" | "sid">): ReceiveWindow {
  return new ReceiveWindow({
    left: c.credit,
    max: MAX_STREAM_CREDIT,
    grantor: `the client granted on stream ${c.sid}`,
  });
}

/** What `c`'s client may still send to the agent: the agent's grants (tcp.opened, credit) less what was relayed. */
export function hostGrants(c: Pick<ClientAttachment, "peerCredit" | "sid">): ReceiveWindow {
  return new ReceiveWindow({ left: c.peerCredit, grantor: `the host granted on stream ${c.sid}` });
}
