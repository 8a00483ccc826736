/** An API failure shown where it happened, in the console's words, never hidden. */
import type { JSX } from "preact";
import { ApiProblem } from "../api/client.js";

/** Says what failed and what the console answered; `role="alert"` so it is announced. */
export function ProblemBanner(props: {
  /** What was being done: "Loading the fleet", "Logging off". */
  readonly doing: string;
  readonly problem: unknown;
  readonly onRetry?: (() => void) | undefined;
}): JSX.Element {
  const problem = ApiProblem.from(props.problem);
  const status = problem.status === 0 ? "" : ` (HTTP ${problem.status}, ${problem.code})`;
  return (
    <div class="problem" role="alert">
      <strong>{props.doing} failed:</strong> {problem.message}
      <span class="muted">{status}</span>
      {props.onRetry && (
        <button type="button" class="button small" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
