/**
 * The Linux half of a Wine-tier run: reads back what a harness wrote (`harness-steps.ts`) and
 * fails with the harness's log when it wrote nothing, failed as a whole, or exited non-zero.
 */
import assert from "node:assert/strict";
import type { HarnessOutput, StepError } from "./harness-steps.js";
import type { HarnessRun } from "./wine-env.js";

export type { HarnessOutput, StepError };

/** The harness's output, once it is known to have run to the end. */
export function output(run: HarnessRun): HarnessOutput {
  assert.ok(
    run.output !== undefined,
    `the harness wrote nothing (exit ${run.status}):\n${run.log}`,
  );
  const result = run.output as HarnessOutput;
  assert.equal(result.fatal, undefined, `the harness failed:\n${result.fatal}\n${run.log}`);
  assert.equal(run.status, 0, `Windows Node exited with ${run.status}:\n${run.log}`);
  return result;
}

/** The value of a step that must have succeeded. */
export function value(result: HarnessOutput, name: string): unknown {
  const step = result.steps[name];
  assert.ok(step !== undefined, `no step ${name}`);
  assert.ok("value" in step, `${name} threw ${JSON.stringify(step)}`);
  return step.value;
}

/** The error of a step that must have thrown. */
export function failure(result: HarnessOutput, name: string): StepError {
  const step = result.steps[name];
  assert.ok(step !== undefined, `no step ${name}`);
  assert.ok("error" in step, `${name} did not throw: ${JSON.stringify(step)}`);
  return step.error;
}
