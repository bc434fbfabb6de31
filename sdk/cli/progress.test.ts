import { describe, expect, it } from "vitest";
import { formatBytes, progressBar, renderProgress } from "./progress.ts";

const MiB = 1024 * 1024;

describe("renderProgress", () => {
  it("shows bytes, percent, rate and ETA", () => {
    const line = renderProgress({
      label: "push app",
      sent: 25 * MiB,
      total: 100 * MiB,
      elapsedMs: 5000,
      width: 10,
    });
    expect(line).toBe("push app [###-------] 25.0 MiB / 100.0 MiB  25%  5.0 MiB/s  ETA 0:15");
  });

  it("leaves what was there before a resume out of the rate", () => {
    const line = renderProgress({
      label: "p",
      sent: 60 * MiB,
      total: 100 * MiB,
      elapsedMs: 10_000,
      sentBefore: 50 * MiB,
      width: 4,
    });
    expect(line).toContain("1.0 MiB/s");
    expect(line).toContain("ETA 0:40");
  });

  it("has no ETA before any rate and clamps at 100%", () => {
    expect(renderProgress({ label: "p", sent: 0, total: 10, elapsedMs: 0 })).toContain("ETA --:--");
    expect(renderProgress({ label: "p", sent: 10, total: 10, elapsedMs: 1, width: 2 })).toContain("[##]");
    expect(renderProgress({ label: "p", sent: 1, total: 3601, elapsedMs: 1000 })).toContain("ETA 1:00:00");
  });

  it("formats bytes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 1024 * MiB)).toBe("3.0 GiB");
  });
});

describe("progressBar", () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, isTTY, columns: 200, write: (t: string) => written.push(t) };
  };

  it("draws in place on a terminal, at most every 100 ms, and ends the line", () => {
    const s = stream(true);
    let t = 0;
    const bar = progressBar("push", { json: false, stream: s, now: () => t });
    bar.update(0, 100);
    t = 50;
    bar.update(10, 100); // too soon: skipped
    t = 150;
    bar.update(50, 100);
    t = 160;
    bar.update(100, 100); // the last one always shows
    bar.done();
    expect(s.written).toHaveLength(4);
    expect(s.written[0]).toMatch(/^\r.*\x1b\[K$/);
    expect(s.written[2]).toContain("100%");
    expect(s.written[3]).toBe("\n");
  });

  it("draws nothing off a terminal or with --json", () => {
    for (const [isTTY, json] of [
      [false, false],
      [true, true],
    ] as const) {
      const s = stream(isTTY);
      const bar = progressBar("push", { json, stream: s });
      bar.update(1, 2);
      bar.update(2, 2);
      bar.done();
      expect(s.written).toEqual([]);
    }
  });
});
