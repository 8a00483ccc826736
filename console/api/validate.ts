/**
 * Checks of request bodies and query strings, by hand rather than by JSON schema, so that each
 * refusal names the field and says what was expected (`"sessions[2].sessionId" must be an
 * integer 1..4294967294`), and unknown fields are refused rather than silently dropped.
 */
import { ApiError } from "./api-error.js";

/** The body as an object with only `allowed` keys (and all of `required`). */
export function objectBody(
  body: unknown,
  allowed: readonly string[],
  required: readonly string[] = [],
  where = "the body",
): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw ApiError.badRequest(`${where} must be a JSON object`);
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw ApiError.badRequest(
        `${where}: unknown field ${JSON.stringify(key)} (known: ${allowed.join(", ")})`,
      );
    }
  }
  for (const key of required) {
    if (record[key] === undefined) throw ApiError.badRequest(`${where}: "${key}" is required`);
  }
  return record;
}

/** A string field of at most `maxChars` characters (and at least one unless `allowEmpty`). */
export function stringField(
  value: unknown,
  name: string,
  maxChars: number,
  allowEmpty = false,
): string {
  if (typeof value !== "string") throw ApiError.badRequest(`"${name}" must be a string`);
  if (!allowEmpty && value === "") throw ApiError.badRequest(`"${name}" must not be empty`);
  if (value.length > maxChars) {
    throw ApiError.badRequest(`"${name}" has at most ${maxChars} characters`);
  }
  return value;
}

/** A boolean field. */
export function booleanField(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw ApiError.badRequest(`"${name}" must be true or false`);
  return value;
}

/** An integer field in `min..max`. */
export function integerField(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw ApiError.badRequest(`"${name}" must be an integer ${min}..${max}`);
  }
  return value;
}

/** The query string with only `allowed` parameters, each given at most once. */
export function queryOf(query: unknown, allowed: readonly string[]): Record<string, string> {
  const record = (query ?? {}) as Record<string, unknown>;
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!allowed.includes(key)) {
      throw ApiError.badRequest(
        `unknown query parameter ${JSON.stringify(key)} (known: ${allowed.join(", ") || "none"})`,
      );
    }
    if (typeof value !== "string") {
      throw ApiError.badRequest(`query parameter "${key}" is given more than once`);
    }
    result[key] = value;
  }
  return result;
}

/** An integer query parameter in `min..max`, or `fallback` when absent. */
export function integerParam(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback: number | undefined,
): number | undefined {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < min || number > max) {
    throw ApiError.badRequest(`query parameter "${name}" must be an integer ${min}..${max}`);
  }
  return number;
}
