import { describe, expect, it } from "vitest";
import { CloseCode, closeCodeFor, closeReasonFor } from "./close-codes.ts";
import { ProtocolError } from "./errors.ts";
import { SequenceCounter, SequenceWindow } from "./sequence.ts";

describe("SequenceWindow / SequenceCounter", () => {
  it("accepts only strictly increasing numbers", () => {
    const window = new SequenceWindow();
    window.accept(1);
    window.accept(2);
    window.accept(10); // gaps are fine; order is what matters
    expect(() => window.accept(10)).toThrow(ProtocolError);
    expect(() => window.accept(3)).toThrow("Cannot accept frame: sequence number 3 is not above 10");
    expect(() => window.accept(Number.NaN)).toThrow(ProtocolError);
    expect(window.last).toBe(10);
    expect(new SequenceWindow(window.last).last).toBe(10); // survives hibernation as one number
    expect(() => new SequenceWindow(-1)).toThrow(RangeError);
  });

  it("numbers frames from 1", () => {
    const counter = new SequenceCounter();
    expect([counter.next(), counter.next(), counter.next()]).toEqual([1, 2, 3]);
    expect(new SequenceCounter(counter.last).next()).toBe(4);
    expect(() => new SequenceCounter(Number.MAX_SAFE_INTEGER).next()).toThrow(RangeError);
  });
});

describe("close codes", () => {
  it("maps each error to its close code", () => {
    expect(closeCodeFor(new ProtocolError("malformed", "x"))).toBe(4400);
    expect(closeCodeFor(new ProtocolError("unknown_frame", "x"))).toBe(4400);
    expect(closeCodeFor(new ProtocolError("bad_signature", "x"))).toBe(4401);
    expect(closeCodeFor(new ProtocolError("unknown_key", "x"))).toBe(4401);
    expect(closeCodeFor(new ProtocolError("revoked", "x"))).toBe(4403);
    expect(closeCodeFor(new ProtocolError("timeout", "x"))).toBe(4408);
    expect(closeCodeFor(new ProtocolError("replay", "x"))).toBe(4409);
    expect(closeCodeFor(new ProtocolError("too_big", "x"))).toBe(4413);
    expect(closeCodeFor(new ProtocolError("unsupported", "x"))).toBe(4426);
    expect(closeCodeFor(new ProtocolError("rate_limited", "x"))).toBe(4429);
    expect(closeCodeFor(new Error("bug"))).toBe(CloseCode.INTERNAL_ERROR);
    for (const code of Object.values(CloseCode)) {
      expect(code === 1000 || code === 1001 || code === 1011 || (code >= 4000 && code <= 4999)).toBe(true);
    }
  });

  it("gives a close reason that fits a close frame", () => {
    const long = new ProtocolError("malformed", `Cannot decode frame: ${"é".repeat(200)}`);
    const reason = closeReasonFor(long);
    expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(123);
    expect(reason.startsWith("Cannot decode frame: é")).toBe(true);
    expect(closeReasonFor(new Error("secret internals"))).toBe("internal error");
  });
});
