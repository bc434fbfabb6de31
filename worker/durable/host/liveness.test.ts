// The liveness deadline on its own (deadlineOf): a connection in its handshake is closed after
// HANDSHAKE_TIMEOUT_MS of the agent's silence, not of the object's own delay in reading its hello.
import { describe, expect, it } from "vitest";
import { HANDSHAKE_TIMEOUT_MS, HEARTBEAT_MISSES } from "../../../schema/protocol/index.ts";
import type { AgentAttachment } from "./attachments.ts";
import { deadlineOf } from "./liveness.ts";

const HB = 15_000;
const socket = (over: Partial<AgentAttachment> = {}): AgentAttachment => ({
  role: "agent",
  conn: "c_test" as AgentAttachment["conn"],
  nonce: "n",
  phase: "challenged",
  in: 0,
  out: 0,
  since: 1_000,
  seen: 1_000,
  ...over,
});

describe("deadlineOf", () => {
  it("closes a silent handshake HANDSHAKE_TIMEOUT_MS after the challenge", () => {
    expect(deadlineOf(socket(), undefined, HB)).toBe(1_000 + HANDSHAKE_TIMEOUT_MS);
  });

  it("does not close a handshake whose hello arrived, however long the object takes to read it", () => {
    // The hello came 2 s after the challenge; the object is still busy at the old deadline.
    const due = deadlineOf(socket(), 3_000, HB);
    expect(due).toBe(3_000 + HEARTBEAT_MISSES * HB);
    expect(due).toBeGreaterThan(1_000 + HANDSHAKE_TIMEOUT_MS);
    // A verified hello (its database write pending) after hibernation lost the arrival: the same.
    expect(deadlineOf(socket({ verified: true, seen: 3_000 }), undefined, HB)).toBe(
      3_000 + HEARTBEAT_MISSES * HB,
    );
  });

  it("holds a ready connection to the heartbeat rule from its latest frame", () => {
    expect(deadlineOf(socket({ phase: "ready", seen: 5_000 }), 9_000, HB)).toBe(
      9_000 + HEARTBEAT_MISSES * HB,
    );
    expect(deadlineOf(socket({ phase: "ready", seen: 5_000 }), undefined, HB)).toBe(
      5_000 + HEARTBEAT_MISSES * HB,
    );
  });
});
