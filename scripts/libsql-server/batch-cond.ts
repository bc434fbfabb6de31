// Batch step conditions (HRANA_3_SPEC.md §Batches › Conditions): `ok` and `error` look at an earlier
// step's outcome (a skipped step is neither), `not` / `and` / `or` combine, and `is_autocommit` (Hrana 3
// only) asks whether the stream is outside an explicit transaction.
import type { SqlConnection } from "./connection.ts";
import { protocolError } from "./errors.ts";
import { type BatchCond, type HranaVersion, requireVersion } from "./protocol.ts";

export type StepOutcome = "ok" | "error" | "skipped";

/** Rejects, before anything runs, a condition on the step itself or a later one (as sqld does). */
export function checkCond(cond: BatchCond, stepIndex: number, version: HranaVersion): void {
  switch (cond.type) {
    case "ok":
    case "error":
      if (cond.step >= stepIndex) {
        throw protocolError(
          "BATCH_COND_BAD_STEP",
          `Invalid reference to step in a batch condition: step ${stepIndex} refers to step ${cond.step}`,
        );
      }
      return;
    case "not":
      checkCond(cond.cond, stepIndex, version);
      return;
    case "and":
    case "or":
      for (const inner of cond.conds) checkCond(inner, stepIndex, version);
      return;
    case "is_autocommit":
      requireVersion(version, 3, "BatchCond of type `is_autocommit`");
      return;
  }
}

export function evalCond(cond: BatchCond, outcomes: readonly StepOutcome[], conn: SqlConnection): boolean {
  switch (cond.type) {
    case "ok":
      return outcomes[cond.step] === "ok";
    case "error":
      return outcomes[cond.step] === "error";
    case "not":
      return !evalCond(cond.cond, outcomes, conn);
    case "and":
      return cond.conds.every((inner) => evalCond(inner, outcomes, conn));
    case "or":
      return cond.conds.some((inner) => evalCond(inner, outcomes, conn));
    case "is_autocommit":
      return conn.isAutocommit;
  }
}
