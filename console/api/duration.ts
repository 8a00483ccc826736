/**
 * Durations in the API, written as on wmsctl's command line: a number with a unit (`30s`, `5m`,
 * `2h`, `1d`, `500ms`) or several combined (`1h30m`). A bare number is refused, for the reason
 * DESIGN section 8 gives: `minIdle=30` meant as minutes would select a classroom idle for 30
 * seconds.
 */
import { ApiError } from "./api-error.js";

const UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parses a duration in milliseconds, at most `maxMs`.
 * @throws ApiError `bad_request` naming `name` and showing the forms.
 */
export function parseApiDuration(text: string, name: string, maxMs: number): number {
  const trimmed = text.trim().toLowerCase();
  if (!DURATION.test(trimmed)) {
    throw ApiError.badRequest(
      `"${name}": ${JSON.stringify(text.slice(0, 40))} is not a duration with a unit (30s, 5m, 2h, 1d, 500ms, or combined: 1h30m)`,
    );
  }
  let ms = 0;
  for (const [, value, unit] of trimmed.matchAll(PART)) {
    ms += Number(value) * (UNITS_MS[unit ?? "s"] ?? 1000);
  }
  ms = Math.round(ms);
  if (!Number.isSafeInteger(ms) || ms > maxMs) {
    throw ApiError.badRequest(`"${name}": ${text} is longer than ${maxMs / 3_600_000} h`);
  }
  return ms;
}
