/**
 * `--warn TEXT --grace DURATION` (and `--warn-title`) of `disconnect` and `logoff`: warn, then
 * act. Checked before anything is sent: the pair comes together, the grace period has a unit and
 * lies within 1 s and 24 h, and the message fits what the agent accepts.
 */
import { MIN_MESSAGE_TIMEOUT_MS, messageFields } from "../message.js";
import { MAX_GRACE_MS } from "../warn-then-act.js";
import { UsageError } from "./usage-error.js";
import { parseDurationMs, type DurationSpec } from "./values.js";

/** `--grace DURATION`: a unit is required; 1 s to 24 h, as long as a message may stay up. */
export const GRACE_FLAG: DurationSpec = { positive: true, maxMs: MAX_GRACE_MS };

/** The flags as commander parses them. */
export interface WarningFlags {
  readonly warn?: string;
  readonly warnTitle?: string;
  readonly grace?: string;
}

/** A checked warning. */
export interface ParsedWarning {
  readonly text: string;
  readonly title: string | undefined;
  readonly graceMs: number;
}

/**
 * The warning of a run; undefined without `--warn`.
 * @throws UsageError naming the flag at fault.
 */
export function parseWarning(flags: WarningFlags): ParsedWarning | undefined {
  if (flags.warn === undefined) {
    if (flags.grace !== undefined || flags.warnTitle !== undefined) {
      throw new UsageError("--grace and --warn-title go with --warn TEXT (the message to show)");
    }
    return undefined;
  }
  if (flags.grace === undefined) {
    throw new UsageError("--warn needs --grace DURATION: how long users have (e.g. --grace 5m)");
  }
  const graceMs = parseDurationMs(flags.grace, "--grace", GRACE_FLAG);
  if (graceMs < MIN_MESSAGE_TIMEOUT_MS) {
    throw new UsageError(`--grace: "${flags.grace}" is less than 1s, the least a message stays up`);
  }
  try {
    messageFields({
      text: flags.warn,
      ...(flags.warnTitle === undefined ? {} : { title: flags.warnTitle }),
      timeoutMs: graceMs,
    });
  } catch (error) {
    throw new UsageError(`--warn: ${(error as Error).message}`);
  }
  return { text: flags.warn, title: flags.warnTitle, graceMs };
}
