// The at-most-once ledger, for real, under Bun and under Deno: test/agent-harness/ledger-check.ts
// runs on each against a fresh state dir and reports what it saw.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RUNTIMES, report } from "../test/agent-harness/processes.ts";

describe.each(RUNTIMES)("action ledger on %s", (runtime) => {
  // biome-ignore lint/suspicious/noExplicitAny: a JSON report, checked field by field below
  let r: Record<string, any>;

  it("runs the ledger checks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-ledger-"));
    r = await report(runtime, "ledger-check.ts", [], { OUTPOST_LEDGER_DIR: dir });
    expect(Object.entries(r).filter(([, v]) => v?.threw)).toEqual([]);
  });

  it("claims an id once, and only one of twenty concurrent claims wins", () => {
    expect(r.once).toEqual([true, false]);
    expect(r.concurrent).toBe(1);
  });

  it("keeps the result, and a finished action is never claimed again", () => {
    expect(r.complete[0]).toMatchObject({ id: "job_a", result: { exit: 0 } });
    expect(r.complete[1]).toBe(false);
  });

  it("lists claimed actions without a result as interrupted", () => {
    expect(r.interrupted).toEqual(["job_b"]);
  });

  it("treats a damaged entry as claimed, and never prunes it", () => {
    expect(r.damaged).toEqual([false, true]);
  });

  it("prunes only entries a day past their deadline", () => {
    expect(r.prune).toEqual([1, null, true]);
  });

  it("refuses an id that is not one (no path escapes the ledger)", () => {
    expect(r.badId).toMatch(/^RangeError: Cannot use action id/);
    expect(r.neverClaimed).toBe("RangeError");
  });

  it("lets exactly one of two processes claim each id", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-ledger-race-"));
    const env = { OUTPOST_LEDGER_DIR: dir, OUTPOST_LEDGER_MODE: "race" };
    const [a, b] = await Promise.all([
      report<{ won: string[] }>(runtime, "ledger-check.ts", [], env),
      report<{ won: string[] }>(runtime, "ledger-check.ts", [], env),
    ]);
    const won = [...a.won, ...b.won].sort();
    expect(won).toHaveLength(50);
    expect(new Set(won).size).toBe(50);
  });
});
