/**
 * Sessions to disconnect, read from standard input (`--stdin`), the pipeline of
 * `Get-WmsSession | Disconnect-WmsSession`. Accepted, as JSON or one JSON value a line:
 * - `wmsctl get -o json` (an array of host records with `host` and `sessions`) and
 *   `wmsctl get -o ndjson` (one host record a line);
 * - PowerShell `ConvertTo-Json` of `Get-WmsSession`: objects with `SessionId` and
 *   `ComputerName`, one object or an array (also wrapped as `{ "value": [...], "Count": n }`);
 * - session objects with `sessionId` and `host`.
 * Property names are matched case-insensitively. A session without a host goes to the hosts
 * named on the command line (default `localhost`).
 *
 * A session also keeps what the input said would stop a disconnect — the `protection` and `state`
 * that `wmsctl get` printed (PowerShell's `State` too) — so that the skip it announced is not
 * counted as a failure (see `report.ts`).
 */
import { normalizeHostName } from "../host-name.js";
import { UsageError } from "./usage-error.js";
import { parseSessionId } from "./values.js";

/** One session read from standard input. */
export interface StdinSession {
  readonly sessionId: number;
  /**
   * The outcomes the input announced for it: `PROTECTED` when it printed a `protection` other
   * than `NONE`; `NOT_DISCONNECTABLE` for a `state` of LISTEN, DOWN, INIT or RESET, or an empty
   * user name (nobody to log off or to message); `ALREADY_DISCONNECTED` for DISCONNECTED.
   */
  readonly announced: readonly string[];
}

/** Sessions by host, in input order, each id once; the key `""` holds those that named no host. */
export type SessionsByHost = Map<string, StdinSession[]>;

function field(record: Record<string, unknown>, ...names: string[]): unknown {
  for (const [key, value] of Object.entries(record)) {
    if (names.includes(key.toLowerCase())) return value;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The states in which an agent answers `NOT_DISCONNECTABLE` (DESIGN section 3). */
const NOT_DISCONNECTABLE_STATES = new Set(["LISTEN", "DOWN", "INIT", "RESET"]);

/**
 * The outcomes a session record announces by its `protection`, `state` and user (as `wmsctl get`
 * prints them; PowerShell's `State` as a name, with or without `WTS`, and `UserName`). Anything
 * else announces nothing: the session was named to be acted on. A session nobody is logged on to
 * (an empty user name) announces `NOT_DISCONNECTABLE` for the verbs that need a user: `logoff`
 * and `message` answer it so (a disconnect of such a session succeeds, and announces nothing).
 */
function announcedBy(record: Record<string, unknown>): string[] {
  const announced: string[] = [];
  const protection = field(record, "protection");
  if (typeof protection === "string" && !["", "NONE"].includes(protection.toUpperCase())) {
    announced.push("PROTECTED");
  }
  const state = field(record, "state");
  if (typeof state === "string") {
    const name = state.toUpperCase().replace(/^WTS/, "").replace(/[-_]/g, "");
    if (NOT_DISCONNECTABLE_STATES.has(name)) announced.push("NOT_DISCONNECTABLE");
    if (name === "DISCONNECTED") announced.push("ALREADY_DISCONNECTED");
  }
  const user = field(record, "username");
  if (user === "" && !announced.includes("NOT_DISCONNECTABLE")) {
    announced.push("NOT_DISCONNECTABLE");
  }
  return announced;
}

function hostOf(value: unknown, where: string): string {
  if (value === undefined || value === null || value === "") return "";
  if (typeof value !== "string") throw new UsageError(`${where}: the host name is not a string`);
  try {
    return normalizeHostName(value);
  } catch (error) {
    throw new UsageError(`${where}: ${(error as Error).message}`);
  }
}

function idOf(value: unknown, where: string): number {
  if (typeof value === "number" || typeof value === "string") {
    return parseSessionId(String(value), where);
  }
  throw new UsageError(`${where}: SessionId is missing or not a number`);
}

/** What is read so far: by host, by id, the outcomes announced (input order kept). */
type Reading = Map<string, Map<number, Set<string>>>;

/** Adds a session; a session read twice announces what either record announced. */
function add(into: Reading, host: string, record: Record<string, unknown>, where: string): void {
  const id = idOf(field(record, "sessionid"), where);
  const sessions = into.get(host) ?? new Map<number, Set<string>>();
  const announced = sessions.get(id) ?? new Set<string>();
  for (const outcome of announcedBy(record)) announced.add(outcome);
  sessions.set(id, announced);
  into.set(host, sessions);
}

function collect(value: unknown, where: string, into: Reading): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => collect(item, `${where}[${index}]`, into));
    return;
  }
  if (!isRecord(value)) throw new UsageError(`${where}: expected an object or an array of them`);
  const wrapped = field(value, "value");
  if (Array.isArray(wrapped) && field(value, "count") !== undefined) {
    collect(wrapped, `${where}.value`, into);
    return;
  }
  const sessions = field(value, "sessions");
  const host = hostOf(field(value, "host", "computername", "server"), where);
  if (sessions !== undefined) {
    if (!Array.isArray(sessions)) throw new UsageError(`${where}: "sessions" is not an array`);
    sessions.forEach((session, index) => {
      const at = `${where}.sessions[${index}]`;
      if (!isRecord(session)) throw new UsageError(`${at}: expected a session object`);
      add(into, host, session, at);
    });
    return;
  }
  const status = field(value, "status");
  if (typeof status === "string" && status !== "ok" && field(value, "sessionid") === undefined) {
    return; // a host record of a host that failed: it has no sessions to pass on
  }
  add(into, host, value, where);
}

/**
 * Parses standard input.
 * @throws UsageError on empty input, malformed JSON (with its line) or a record without a valid
 * session id or host name.
 */
export function parseStdinSessions(text: string): SessionsByHost {
  const into: Reading = new Map();
  if (text.trim() === "") throw new UsageError("--stdin: standard input is empty");
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined;
  }
  if (whole !== undefined) {
    collect(whole, "stdin", into);
  } else {
    text.split(/\r?\n/).forEach((line, index) => {
      if (line.trim() === "") return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new UsageError(
          `--stdin: line ${index + 1} is not valid JSON (${(error as Error).message})`,
        );
      }
      collect(value, `stdin line ${index + 1}`, into);
    });
  }
  if (into.size === 0) throw new UsageError("--stdin: standard input names no session");
  return new Map(
    [...into].map(([host, sessions]) => [
      host,
      [...sessions].map(([sessionId, announced]) => ({ sessionId, announced: [...announced] })),
    ]),
  );
}
