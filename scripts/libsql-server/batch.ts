// The `batch` request (HRANA_3_SPEC.md §"Execute a batch", §"Batch results"): steps run in order, each
// only if its condition holds. A failing step is reported in `step_errors` and the batch goes on; the
// client's conditions decide what happens next (this is how @libsql/client makes a batch atomic:
// BEGIN, each step on `ok` of the previous, COMMIT, and ROLLBACK on `not ok` of the COMMIT).
import { checkCond, evalCond, type StepOutcome } from "./batch-cond.ts";
import { StmtError } from "./errors.ts";
import { compileStmt, runCompiled } from "./execute.ts";
import type { Batch, BatchResult, HranaVersion } from "./protocol.ts";
import type { HranaStream } from "./stream.ts";

export async function executeBatch(
  stream: HranaStream,
  batch: Batch,
  version: HranaVersion,
): Promise<BatchResult> {
  // Everything that can be checked without running is checked first, so a malformed batch runs nothing.
  const steps = batch.steps.map((step, index) => {
    if (step.condition) checkCond(step.condition, index, version);
    return { condition: step.condition ?? null, compiled: compileStmt(stream, step.stmt) };
  });

  const result: BatchResult = { step_results: [], step_errors: [] };
  const outcomes: StepOutcome[] = [];
  for (const step of steps) {
    if (step.condition && !evalCond(step.condition, outcomes, stream.conn)) {
      result.step_results.push(null);
      result.step_errors.push(null);
      outcomes.push("skipped");
      continue;
    }
    try {
      result.step_results.push(await runCompiled(stream, step.compiled));
      result.step_errors.push(null);
      outcomes.push("ok");
    } catch (err) {
      if (!(err instanceof StmtError)) throw err;
      result.step_results.push(null);
      result.step_errors.push(err.toBody());
      outcomes.push("error");
    }
  }
  return result;
}
