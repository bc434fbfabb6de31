import { describe, expect, it } from "vitest";
import { BACKOFF_CAP_MS, backoffDelay, backoffWindow } from "./backoff.ts";

describe("backoff", () => {
  it("doubles from 500 ms and stops at 30 s", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100, 5000].map(backoffWindow)).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000,
    ]);
  });

  it("spreads each delay over its whole window (full jitter)", () => {
    expect(backoffDelay(0, () => 0)).toBe(0);
    expect(backoffDelay(0, () => 0.5)).toBe(250);
    expect(backoffDelay(3, () => 0.999_999)).toBe(3999);
    expect(backoffDelay(40, () => 0.999_999)).toBe(BACKOFF_CAP_MS - 1);
    for (let attempt = 0; attempt < 20; attempt++) {
      const d = backoffDelay(attempt);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(backoffWindow(attempt));
      expect(Number.isInteger(d)).toBe(true);
    }
  });

  it("refuses a nonsense attempt number", () => {
    expect(() => backoffWindow(-1)).toThrow(RangeError);
    expect(() => backoffWindow(1.5)).toThrow(RangeError);
  });
});
