// The sampling rule of FailureSampler on its own: a burst becomes one event with its count, and after
// that at most one event per window, each carrying the failures it stands for by close code.
import { describe, expect, it } from "vitest";
import { FailureSampler, SAMPLE_DELAY_MS, SAMPLE_WINDOW_MS } from "./failure-sampler.ts";

describe("FailureSampler", () => {
  it("writes a burst as one event with its count, then at most one per window", () => {
    const s = new FailureSampler();
    expect(s.dueAt()).toBeUndefined();
    expect(s.record("agent.protocol_error", "bad signature", 4401, 1000)).toBe(1000 + SAMPLE_DELAY_MS);
    for (let i = 0; i < 199; i++) s.record("agent.protocol_error", "garbage", i % 2 ? 4400 : 4401, 1001 + i);
    expect(s.take(1000 + SAMPLE_DELAY_MS - 1)).toBeUndefined();
    const first = s.take(1000 + SAMPLE_DELAY_MS);
    expect(first).toMatchObject({ reason: "bad signature", close: 4401, count: 200 });
    expect(first!.closes).toEqual({ 4400: 99, 4401: 101 });
    expect(s.take(1_000_000)).toBeUndefined(); // nothing pending

    const written = 1000 + SAMPLE_DELAY_MS;
    expect(s.record("agent.connect", "host revoked", 4403, written + 10)).toBe(written + SAMPLE_WINDOW_MS);
    expect(s.take(written + SAMPLE_WINDOW_MS - 1)).toBeUndefined();
    expect(s.take(written + SAMPLE_WINDOW_MS)).toMatchObject({ action: "agent.connect", count: 1 });
  });
});
