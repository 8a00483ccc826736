/**
 * Fixtures of the simulated backend: a MultiPoint host described in JSON (DESIGN section 4).
 *
 * The JSON format is documented on {@link parseSimFixture}. Validation is strict and names the
 * file and the field at fault, because a fixture with a typo that silently loads as something else
 * makes every test and benchmark built on it lie.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { MAX_SESSION_ID, WTS_CURRENT_SESSION, isSessionId } from "../../common/session-id.js";
import { MessageResponse, SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { MAX_SESSION_GROUPS } from "../sessions/backend.js";
import { SESSION_INJECTION_KEYS, type SessionInjection } from "./sim-injection.js";

/**
 * How a simulated session is connected, as `WTSClientProtocolType` says: `console` for the local
 * console and MultiPoint stations (type 0), `rdp` for a Remote Desktop session (type 2). Windows
 * tracks the last input of Remote Desktop sessions only, so a console-type session's idle time is
 * unknown (issue 17), here as with the `wts` backend.
 */
export type SimProtocol = "console" | "rdp";

/** A WinStation name with a connection number (`RDP-Tcp#4`) is a Remote Desktop session's. */
const REMOTE_STATION = /#\d+$/;

/**
 * The protocol of a session: its `protocol` when given, otherwise `rdp` for a WinStation name with
 * a connection number (`RDP-Tcp#4`) and `console` for any other (`Console`, `Station 3`).
 */
export function simProtocol(session: {
  readonly stationName?: string;
  readonly protocol?: SimProtocol;
}): SimProtocol {
  return session.protocol ?? (REMOTE_STATION.test(session.stationName ?? "") ? "rdp" : "console");
}

/**
 * Why a session of this protocol cannot have a last input time, or `undefined` when it can: the
 * words of the error for a fixture, `addSession` or `updateSession` that gives one.
 */
export function lastInputRefusal(protocol: SimProtocol): string | undefined {
  return protocol === "rdp"
    ? undefined
    : 'a console-type session (the console, a MultiPoint station) has no idle time: Windows does not track its input, so it is unknown (leave the last input out, or give "protocol": "rdp" for a Remote Desktop session)';
}

/** One session of a simulated host, with its optional fault injection. */
export interface SimSession extends SessionInjection {
  /** The session id: a uint32 other than 4294967295 (`WTS_CURRENT_SESSION`). */
  readonly sessionId: number;
  readonly state: SessionState;
  /** @default "" (nobody logged on) */
  readonly userName?: string;
  /** @default "" */
  readonly domainName?: string;
  /** The WinStation name (`Console`, `Station 3`, `RDP-Tcp#4`). @default "" */
  readonly stationName?: string;
  /**
   * How the session is connected.
   * @default "rdp" for a WinStation name with a connection number (`RDP-Tcp#4`), "console"
   *   otherwise (see {@link simProtocol}); give "rdp" for a disconnected remote session, whose
   *   WinStation name is empty
   */
  readonly protocol?: SimProtocol;
  /** @default "" */
  readonly clientName?: string;
  /** When the user logged on; absent when nobody is logged on. */
  readonly logonTime?: Date;
  /**
   * The time of the last keyboard or mouse input. Absent (and no `idleSeconds`): unknown. A
   * Remote Desktop session's only: a console-type session's is always unknown.
   */
  readonly lastInputTime?: Date;
  /**
   * Seconds without input when the session is loaded, the other way to give the last input
   * (converted to `lastInputTime` with the backend's clock at load time). Not with
   * `lastInputTime`; a Remote Desktop session's only.
   */
  readonly idleSeconds?: number;
  /** The session's desktop is locked. @default false */
  readonly locked?: boolean;
  /**
   * The user's groups (`DOMAIN\Group`), at most {@link MAX_SESSION_GROUPS}; `null`: unknown, as
   * when the `wts` backend cannot read the user's token (the session's note says so). Only for a
   * session with a user. @default [] (in no group the policies look at)
   */
  readonly groups?: readonly string[] | null;
}

/**
 * A change of one simulated session, as a user or Windows would make it (`SimulatedBackend.
 * updateSession`). `null` clears a time.
 */
export interface SimSessionUpdate {
  readonly state?: SessionState;
  readonly userName?: string;
  readonly domainName?: string;
  readonly clientName?: string;
  readonly logonTime?: Date | null;
  readonly lastInputTime?: Date | null;
  readonly locked?: boolean;
  /** The user's groups; `null`: unknown. A new user (a logon) gets `[]` unless given. */
  readonly groups?: readonly string[] | null;
}

/** A simulated MultiPoint host: its sessions and whole-backend settings. */
export interface SimFixture {
  /** Free text saying what the fixture models. */
  readonly description?: string;
  /**
   * The session the agent claims to run in when `WMSFLEET_SIM_SESSION` is not set in its
   * environment. @default 0 (a service)
   */
  readonly agentSessionId?: number;
  /** Milliseconds every `listSessions` takes. @default 0 */
  readonly listLatencyMs?: number;
  readonly sessions: readonly SimSession[];
}

/** A fixture that cannot be read or is not valid; the message names the file and the field. */
export class SimFixtureError extends Error {
  override readonly name = "SimFixtureError";
  constructor(
    /** The file (or other source) the fixture came from. */
    readonly source: string,
    /** Path of the offending field, e.g. `sessions[3].state`; `undefined` for the whole file. */
    readonly field: string | undefined,
    /** What is wrong, without the source and field. */
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(field === undefined ? `${source}: ${detail}` : `${source}: ${field}: ${detail}`, options);
  }
}

/** `setTimeout` treats anything longer as 1 ms, so longer latencies would silently vanish. */
const MAX_LATENCY_MS = 0x7fffffff;

/** The ten WTS connect states in `WTS_CONNECTSTATE_CLASS` order, as written in fixtures. */
const STATE_NAMES: readonly (keyof typeof SessionState)[] = [
  "ACTIVE",
  "CONNECTED",
  "CONNECT_QUERY",
  "SHADOW",
  "DISCONNECTED",
  "IDLE",
  "LISTEN",
  "RESET",
  "DOWN",
  "INIT",
];

const TOP_KEYS = ["description", "agentSessionId", "listLatencyMs", "sessions"] as const;
/** The keys a fixture's session may hold: the session's own, then its injection's. */
const SESSION_KEYS: readonly string[] = [
  "sessionId",
  "state",
  "userName",
  "domainName",
  "stationName",
  "protocol",
  "clientName",
  "logonTime",
  "lastInputTime",
  "idleSeconds",
  "locked",
  "groups",
  ...SESSION_INJECTION_KEYS,
];

/** The answers a simulated user can give to a message box, as written in fixtures. */
const ANSWER_NAMES: readonly (keyof typeof MessageResponse)[] = [
  "OK",
  "CANCEL",
  "ABORT",
  "RETRY",
  "IGNORE",
  "YES",
  "NO",
  "TIMEOUT",
];

/**
 * Validates a parsed JSON value as a fixture.
 *
 * The format (unknown keys are errors; state and answer names are case-insensitive):
 * ```json
 * { "description": "...", "agentSessionId": 0, "listLatencyMs": 0,
 *   "sessions": [ { "sessionId": 14, "state": "ACTIVE", "userName": "j.lindqvist",
 *                   "domainName": "LAB", "stationName": "RDP-Tcp#4", "protocol": "rdp",
 *                   "clientName": "LAB-LT-07", "logonTime": "2026-03-10T08:47:12+00:00",
 *                   "idleSeconds": 45, "locked": false, "groups": ["LAB\\Students"],
 *                   "disconnectLatencyMs": 20, "disconnectWin32Error": 7024,
 *                   "disconnectFailTimes": 1,
 *                   "logoffLatencyMs": 20, "logoffWin32Error": 5, "logoffFailTimes": 1,
 *                   "messageLatencyMs": 5, "messageWin32Error": 7045, "messageFailTimes": 1,
 *                   "messageResponse": "YES", "messageResponseDelayMs": 1500 } ] }
 * ```
 * Only `sessions` (possibly empty) and each session's `sessionId` and `state` are required.
 * `protocol` is `console` (the console, MultiPoint stations) or `rdp` (Remote Desktop); by default
 * `rdp` for a WinStation name with a connection number (`RDP-Tcp#4`), `console` otherwise. The
 * last input is given either as `lastInputTime` (a date-time) or as `idleSeconds` (seconds before
 * the fixture is loaded), not both; neither means it is unknown, which a console-type session's
 * always is (Windows does not track its input: giving one is an error). `messageResponse` is how the
 * session's user answers a message box (`OK`, `CANCEL`, `ABORT`, `RETRY`, `IGNORE`, `YES`, `NO`,
 * or `TIMEOUT` for never), `messageResponseDelayMs` after it is shown. `groups` lists the user's
 * groups as `DOMAIN\\Group` names (none by default; `null` for groups the agent could not read),
 * for a session with a user only.
 *
 * @param source - names the fixture in error messages, usually its file name.
 * @throws SimFixtureError naming `source` and the field at fault.
 */
export function parseSimFixture(value: unknown, source: string): SimFixture {
  const fail = (field: string | undefined, detail: string): never => {
    throw new SimFixtureError(source, field, detail);
  };
  const top = expectObject(value, undefined, fail, "the fixture");
  checkKeys(top, TOP_KEYS, undefined, fail);

  const description = optionalString(top, "description", undefined, fail);
  const agentSessionId = optional(top, "agentSessionId", undefined, fail, sessionIdValue);
  const listLatencyMs = optional(top, "listLatencyMs", undefined, fail, latencyValue);
  if (!Object.hasOwn(top, "sessions"))
    fail("sessions", "required (an array of sessions, may be empty)");
  if (!Array.isArray(top["sessions"])) {
    fail("sessions", `expected an array, got ${describe(top["sessions"])}`);
  }
  const seen = new Map<number, number>();
  const sessions = (top["sessions"] as unknown[]).map((entry, index) => {
    const session = parseSession(entry, `sessions[${index}]`, fail);
    const first = seen.get(session.sessionId);
    if (first !== undefined) {
      fail(
        `sessions[${index}].sessionId`,
        `duplicate session id ${session.sessionId} (also sessions[${first}])`,
      );
    }
    seen.set(session.sessionId, index);
    return session;
  });
  return { ...withoutUndefined({ description, agentSessionId, listLatencyMs }), sessions };
}

/**
 * Reads and validates a fixture file.
 * @throws SimFixtureError when the file cannot be read, is not JSON or is not a valid fixture.
 */
export async function loadSimFixture(path: string): Promise<SimFixture> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw readError(path, error);
  }
  return parseSimFixtureText(text, path);
}

/**
 * The fixture that ships with wmsfleet: a realistic MultiPoint classroom (`classroom.json` next to
 * this module). Read afresh on every call, so callers may keep what they get.
 */
export function defaultSimFixture(): SimFixture {
  const url = new URL("./classroom.json", import.meta.url);
  let text: string;
  try {
    text = readFileSync(url, "utf8");
  } catch (error) {
    throw readError(fileURLToPath(url), error);
  }
  return parseSimFixtureText(text, "classroom.json");
}

/** Parses fixture JSON text; a syntax error says where, as far as `JSON.parse` does. */
function parseSimFixtureText(raw: string, source: string): SimFixture {
  // Windows tools (PowerShell 5's `-Encoding UTF8`, older Notepad) write a byte order mark.
  const text = raw.replace(/^\uFEFF/, "");
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    const detail = `invalid JSON${syntaxErrorDetail(text, error)}`;
    throw new SimFixtureError(source, undefined, detail, { cause: error });
  }
  return parseSimFixture(value, source);
}

/**
 * `JSON.parse`'s complaint, on one line: ` at line L, column C: what` where V8 names the offset
 * (most errors: `… in JSON at position 17`; the end of the input for a file cut short), `: what`
 * where it quotes the text around the error instead (`Unexpected token ']', "…" is not valid JSON`).
 */
function syntaxErrorDetail(text: string, error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ");
  const at = /^(.*?)(?: in JSON)? at position (\d+)/.exec(message);
  if (at !== null) return ` at ${lineAndColumn(text, Number(at[2]))}: ${at[1] ?? message}`;
  if (/end of JSON input/.test(message))
    return ` at ${lineAndColumn(text, text.length)}: ${message}`;
  return `: ${message}`;
}

function readError(path: string, error: unknown): SimFixtureError {
  const code = (error as { code?: unknown } | null)?.code;
  const detail =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? "is a directory, not a fixture file"
        : code === "EACCES"
          ? "permission denied"
          : `cannot read: ${error instanceof Error ? error.message : String(error)}`;
  return new SimFixtureError(path, undefined, detail, { cause: error });
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  const column = position - before.lastIndexOf("\n");
  return `line ${line}, column ${column}`;
}

type Fail = (field: string | undefined, detail: string) => never;
type Parse<T> = (value: unknown, field: string, fail: Fail) => T;

function parseSession(value: unknown, path: string, fail: Fail): SimSession {
  const entry = expectObject(value, path, fail, "a session");
  checkKeys(entry, SESSION_KEYS, path, fail);
  for (const key of ["sessionId", "state"] as const) {
    if (!Object.hasOwn(entry, key)) fail(`${path}.${key}`, "required");
  }
  const sessionId = sessionIdValue(entry["sessionId"], `${path}.sessionId`, fail);
  const state = stateValue(entry["state"], `${path}.state`, fail);
  const details = withoutUndefined({
    userName: optionalString(entry, "userName", path, fail),
    domainName: optionalString(entry, "domainName", path, fail),
    stationName: optionalString(entry, "stationName", path, fail),
    protocol: optional(entry, "protocol", path, fail, protocolValue),
    clientName: optionalString(entry, "clientName", path, fail),
    logonTime: optional(entry, "logonTime", path, fail, dateValue),
    lastInputTime: optional(entry, "lastInputTime", path, fail, dateValue),
    idleSeconds: optional(entry, "idleSeconds", path, fail, nonNegativeValue),
    locked: optional(entry, "locked", path, fail, booleanValue),
    groups: optional(entry, "groups", path, fail, groupsValue),
    disconnectLatencyMs: optional(entry, "disconnectLatencyMs", path, fail, latencyValue),
    disconnectWin32Error: optional(entry, "disconnectWin32Error", path, fail, win32Value),
    disconnectFailTimes: optional(entry, "disconnectFailTimes", path, fail, countValue),
    logoffLatencyMs: optional(entry, "logoffLatencyMs", path, fail, latencyValue),
    logoffWin32Error: optional(entry, "logoffWin32Error", path, fail, win32Value),
    logoffFailTimes: optional(entry, "logoffFailTimes", path, fail, countValue),
    messageLatencyMs: optional(entry, "messageLatencyMs", path, fail, latencyValue),
    messageWin32Error: optional(entry, "messageWin32Error", path, fail, win32Value),
    messageFailTimes: optional(entry, "messageFailTimes", path, fail, countValue),
    messageResponse: optional(entry, "messageResponse", path, fail, answerValue),
    messageResponseDelayMs: optional(entry, "messageResponseDelayMs", path, fail, latencyValue),
  });
  for (const operation of ["disconnect", "logoff", "message"] as const) {
    if (
      details[`${operation}FailTimes`] !== undefined &&
      details[`${operation}Win32Error`] === undefined
    ) {
      fail(
        `${path}.${operation}FailTimes`,
        `needs ${operation}Win32Error (the error to fail with)`,
      );
    }
  }
  if (details.lastInputTime !== undefined && details.idleSeconds !== undefined) {
    fail(
      `${path}.idleSeconds`,
      "give the last input once: lastInputTime (a date-time) or idleSeconds, not both",
    );
  }
  const refusal = lastInputRefusal(simProtocol(details));
  if (refusal !== undefined) {
    for (const key of ["lastInputTime", "idleSeconds"] as const) {
      if (details[key] !== undefined) fail(`${path}.${key}`, refusal);
    }
  }
  if (details.groups !== undefined && (details.userName ?? "") === "") {
    fail(`${path}.groups`, "only a session with a user (userName) has groups");
  }
  if (details.messageResponseDelayMs !== undefined && details.messageResponse === undefined) {
    fail(`${path}.messageResponseDelayMs`, "needs messageResponse (the answer to give)");
  }
  return { sessionId, state, ...details };
}

/** Drops the keys whose value is `undefined`, as `exactOptionalPropertyTypes` wants. */
function withoutUndefined<T extends object>(
  value: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function expectObject(
  value: unknown,
  path: string | undefined,
  fail: Fail,
  what: string,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(path, `expected ${what} (a JSON object), got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function checkKeys(
  entry: Record<string, unknown>,
  known: readonly string[],
  path: string | undefined,
  fail: Fail,
): void {
  for (const key of Object.keys(entry)) {
    if (known.includes(key)) continue;
    const guess = meant(known, key);
    const hint =
      guess === undefined ? `known keys: ${known.join(", ")}` : `did you mean "${guess}"?`;
    fail(join(path, key), `unknown key (${hint})`);
  }
}

function optional<T>(
  entry: Record<string, unknown>,
  key: string,
  path: string | undefined,
  fail: Fail,
  parse: Parse<T>,
): T | undefined {
  return Object.hasOwn(entry, key) ? parse(entry[key], join(path, key), fail) : undefined;
}

function optionalString(
  entry: Record<string, unknown>,
  key: string,
  path: string | undefined,
  fail: Fail,
): string | undefined {
  return optional(entry, key, path, fail, (value, field) =>
    typeof value === "string" ? value : fail(field, `expected a string, got ${describe(value)}`),
  );
}

const sessionIdValue: Parse<number> = (value, field, fail) => {
  if (value === WTS_CURRENT_SESSION) {
    return fail(field, "4294967295 is WTS_CURRENT_SESSION, not a session id");
  }
  if (!isSessionId(value)) {
    return fail(
      field,
      `expected a session id (an integer 0..${MAX_SESSION_ID}), got ${describe(value)}`,
    );
  }
  return value as number;
};

const stateValue: Parse<SessionState> = (value, field, fail) => {
  const name = typeof value === "string" ? value.toUpperCase() : undefined;
  const state = STATE_NAMES.find((candidate) => candidate === name);
  if (state === undefined) {
    return fail(field, `expected one of ${STATE_NAMES.join(", ")}, got ${describe(value)}`);
  }
  return SessionState[state];
};

const answerValue: Parse<MessageResponse> = (value, field, fail) => {
  const name = typeof value === "string" ? value.toUpperCase() : undefined;
  const answer = ANSWER_NAMES.find((candidate) => candidate === name);
  if (answer === undefined) {
    return fail(field, `expected one of ${ANSWER_NAMES.join(", ")}, got ${describe(value)}`);
  }
  return MessageResponse[answer];
};

const PROTOCOLS: readonly SimProtocol[] = ["console", "rdp"];

const protocolValue: Parse<SimProtocol> = (value, field, fail) => {
  const protocol = PROTOCOLS.find((candidate) => candidate === value);
  return protocol ?? fail(field, `expected "console" or "rdp", got ${describe(value)}`);
};

/**
 * A user's groups: an array of at most {@link MAX_SESSION_GROUPS} non-empty `DOMAIN\Group`
 * names, or `null` (unknown).
 */
const groupsValue: Parse<readonly string[] | null> = (value, field, fail) => {
  if (value === null) return null;
  if (!Array.isArray(value)) {
    return fail(field, `expected an array of group names or null, got ${describe(value)}`);
  }
  if (value.length > MAX_SESSION_GROUPS) {
    return fail(field, `at most ${MAX_SESSION_GROUPS} groups, got ${value.length}`);
  }
  return value.map((item: unknown, index) =>
    typeof item === "string" && item !== ""
      ? item
      : fail(`${field}[${index}]`, `expected a group name (DOMAIN\\Group), got ${describe(item)}`),
  );
};

const booleanValue: Parse<boolean> = (value, field, fail) =>
  typeof value === "boolean"
    ? value
    : fail(field, `expected true or false, got ${describe(value)}`);

const nonNegativeValue: Parse<number> = (value, field, fail) =>
  typeof value === "number" && Number.isFinite(value) && value >= 0
    ? value
    : fail(field, `expected a non-negative number, got ${describe(value)}`);

const latencyValue: Parse<number> = (value, field, fail) => {
  const ms = nonNegativeValue(value, field, fail);
  return ms <= MAX_LATENCY_MS
    ? ms
    : fail(field, `expected at most ${MAX_LATENCY_MS} ms, got ${ms}`);
};

const win32Value: Parse<number> = (value, field, fail) =>
  Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= 0xffffffff
    ? (value as number)
    : fail(field, `expected a Win32 error code (a positive integer), got ${describe(value)}`);

const countValue: Parse<number> = (value, field, fail) =>
  Number.isSafeInteger(value) && (value as number) >= 0
    ? (value as number)
    : fail(field, `expected a non-negative integer, got ${describe(value)}`);

/** An ISO 8601 date-time with a zone: a logon time without one would depend on the machine. */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

const dateValue: Parse<Date> = (value, field, fail) => {
  const expected = `expected an ISO 8601 date-time with a zone, like "2026-03-10T08:47:12Z"`;
  if (typeof value !== "string") return fail(field, `${expected}, got ${describe(value)}`);
  const match = ISO_DATE_TIME.exec(value);
  const date = new Date(value);
  if (match === null || Number.isNaN(date.getTime())) {
    return fail(field, `${expected}, got ${describe(value)}`);
  }
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  const daysInMonth = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  if (
    (month ?? 0) < 1 ||
    (month ?? 0) > 12 ||
    (day ?? 0) < 1 ||
    (day ?? 0) > daysInMonth ||
    (hour ?? 0) > 23 ||
    (minute ?? 0) > 59 ||
    (second ?? 0) > 59 ||
    (offsetHour ?? 0) > 23 ||
    (offsetMinute ?? 0) > 59
  ) {
    return fail(field, `not a real date and time: ${describe(value)}`);
  }
  return date;
};

function join(path: string | undefined, key: string): string {
  return path === undefined ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return String(value); // JSON.stringify(NaN) is "null"
  if (typeof value === "string" && value.length > 60)
    return `${JSON.stringify(value.slice(0, 60))}...`;
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  return "an object";
}

/**
 * The known key an unknown one probably meant, for a "did you mean" hint: the same but for case
 * (`sessionID`), one character off (`lockd`), or cut short or run on (`station`, `idleSecond`).
 */
function meant(known: readonly string[], key: string): string | undefined {
  const typed = key.toLowerCase();
  return known.find((candidate) => {
    const lower = candidate.toLowerCase();
    if (typed.length >= 4 && (lower.startsWith(typed) || typed.startsWith(lower))) return true;
    return oneEditApart(lower, typed);
  });
}

/** Whether `b` is `a` with at most one character inserted, deleted or replaced. */
function oneEditApart(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let same = 0;
  while (same < a.length && a[same] === b[same]) same++;
  return (
    a.slice(same + (a.length >= b.length ? 1 : 0)) ===
    b.slice(same + (b.length >= a.length ? 1 : 0))
  );
}
