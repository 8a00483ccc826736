/**
 * The harnesses' half of a Wine-tier run, bundled into each harness so that it runs inside the
 * Windows build of Node: every step's value, or the error it threw with the Win32 code the error
 * carries (`code` on the `wts` backend's `Win32Error`, `win32Error` on wmsctl's
 * `WindowsSessionError`), written as JSON to the file named by the harness's second argument.
 * The Linux half, which reads that file back, is `harness-output.ts`.
 */
import { writeFileSync } from "node:fs";

/** An error a step threw, as JSON carries it. */
export interface StepError {
  readonly name: string;
  readonly message: string;
  readonly code?: number;
  readonly win32Error?: number;
}

/** The outcome of one step: its value, or the error it threw. */
export type Step = { readonly value: unknown } | { readonly error: StepError };

/** What a harness writes. */
export interface HarnessOutput {
  readonly scenario: string;
  readonly steps: Record<string, Step>;
  /** Set when the harness itself failed (not one of its steps). */
  readonly fatal?: string;
}

/** Dates as ISO strings, `undefined` as null: what JSON can carry. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) => (item === undefined ? null : item)) ?? "null",
  );
}

function stepError(caught: unknown): StepError {
  const error = caught instanceof Error ? caught : new Error(String(caught));
  const { code, win32Error } = error as { code?: unknown; win32Error?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === "number" ? { code } : {}),
    ...(typeof win32Error === "number" ? { win32Error } : {}),
  };
}

/** The scenario and output file from the command line, the steps so far, and how to add one. */
export function harnessSteps() {
  const [scenario = "", outFile = ""] = process.argv.slice(2);
  const steps: Record<string, Step> = {};
  return {
    scenario,
    steps,
    /** Runs one step and records its value or error; never throws. */
    step: async (name: string, run: () => unknown): Promise<void> => {
      try {
        steps[name] = { value: plain(await run()) };
      } catch (error) {
        steps[name] = { error: stepError(error) };
      }
    },
    /** Writes the output file: the steps, and why the harness itself failed, if it did. */
    write: (fatal?: string): void => {
      const output: HarnessOutput = { scenario, steps, ...(fatal === undefined ? {} : { fatal }) };
      writeFileSync(outFile, JSON.stringify(output, null, 2));
    },
  };
}
