/**
 * A policy (DESIGN section 10): a named rule over a set of hosts — which sessions, what to do to
 * them (disconnect or log off, optionally after a warning and a grace period), when (an interval
 * or a cron expression in the console's time zone), whether it is enabled, and whether it only
 * says what it would do (dry run). {@link parsePolicy} checks a definition as the API receives it
 * and answers every mistake with the field's path and what was expected.
 */
import { Cron } from "croner";
import { compileWildcard, type WildcardPattern } from "../../common/wildcard.js";
import { MAX_GRACE_MS, compileGroupPattern, compileUserPattern } from "../../controller/index.js";
import { ApiError } from "../api/api-error.js";
import { parseApiDuration } from "../api/duration.js";
import { SESSION_STATES, type ApiSessionState } from "../api/types.js";
import { booleanField, objectBody, stringField } from "../api/validate.js";

/** A policy's name: lower-case letters, digits, `.`, `_`, `-`; it is part of URLs and actors. */
export const POLICY_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Hosts a policy may list by name. */
export const MAX_POLICY_HOSTS = 5000;
/** Exempt user patterns a policy may have. */
export const MAX_EXEMPT_USERS = 200;
/** Exempt group patterns a policy may have: a school names a handful (teachers, staff, IT). */
export const MAX_EXEMPT_GROUPS = 100;
/** The longest "idle at least" or "disconnected for at least": 30 days. */
export const MAX_POLICY_IDLE_MS = 30 * 86_400_000;
/** The shortest interval: a minute; policies are housekeeping, not a busy loop. */
export const MIN_INTERVAL_MS = 60_000;
/** The longest interval: 31 days. */
export const MAX_INTERVAL_MS = 31 * 86_400_000;
/** The longest warning text, in characters (what the agent shows in a message box). */
export const MAX_WARNING_CHARS = 4096;

/** Which hosts: every host of the inventory, a list of FQDNs, or a host-name pattern. */
export type PolicyHosts =
  | { readonly kind: "all" }
  | { readonly kind: "list"; readonly names: readonly string[] }
  | { readonly kind: "pattern"; readonly pattern: string };

/** Which sessions. Durations as the API writes them (`30m`, `2h`). */
export interface PolicySessions {
  /** Only sessions in these states; empty: any state. */
  readonly states: readonly ApiSessionState[];
  /** A user name pattern (`*`, `?`; matched against `user` and `DOMAIN\user`); "" any user. */
  readonly user: string;
  /** Idle (no input) for at least this long; absent: any. */
  readonly minIdle?: string;
  /** Disconnected for at least this long (implies the DISCONNECTED state); absent: any. */
  readonly disconnectedFor?: string;
  /** Users never touched, as patterns (`LAB\teacher*`, `admin`). */
  readonly exemptUsers: readonly string[];
  /**
   * Groups whose members are never touched, as patterns (`LAB\Teachers`, `*\Staff`), matched
   * without regard to case against `DOMAIN\Group` and the group's name alone. With any, a session
   * whose user's groups the agent does not know is never touched either (`GROUPS_UNKNOWN`).
   */
  readonly exemptGroups: readonly string[];
}

/** The schedule: every so long, or a cron expression in the console's time zone. */
export type PolicySchedule = { readonly every: string } | { readonly cron: string };

/** A policy's definition, as the API takes and gives it. */
export interface PolicyDefinition {
  readonly name: string;
  readonly description: string;
  readonly hosts: PolicyHosts;
  readonly sessions: PolicySessions;
  readonly action: "disconnect" | "logoff";
  /** Shown to the users first; the action comes after the grace period, for who still matches. */
  readonly warning?: { readonly text: string; readonly grace: string };
  readonly schedule: PolicySchedule;
  readonly enabled: boolean;
  /** Runs only ask the agents what they would do (what-if); nothing changes. */
  readonly dryRun: boolean;
}

/** A definition compiled for running. */
export interface Policy {
  readonly definition: PolicyDefinition;
  readonly name: string;
  /** Whether the policy covers a host. */
  coversHost(fqdn: string): boolean;
  readonly states: ReadonlySet<ApiSessionState>;
  readonly userPattern: WildcardPattern | undefined;
  readonly minIdleMs: number | undefined;
  readonly disconnectedForMs: number | undefined;
  readonly exempt: readonly WildcardPattern[];
  /** The exempt groups' patterns, compiled. */
  readonly exemptGroups: readonly { readonly pattern: string; readonly matcher: WildcardPattern }[];
  readonly warning: { readonly text: string; readonly graceMs: number } | undefined;
  /** The next due time strictly after `afterMs` (Unix ms); undefined: never again. */
  nextDue(afterMs: number): number | undefined;
  /** The actor towards the agents and in the audit trail: `policy NAME`. */
  readonly actor: string;
}

const bad = (message: string) => ApiError.badRequest(message);

function stringList(value: unknown, name: string, max: number, maxChars: number): string[] {
  if (!Array.isArray(value)) throw bad(`"${name}" must be an array of strings`);
  if (value.length > max) throw bad(`"${name}" has at most ${max} entries`);
  return value.map((item, index) => stringField(item, `${name}[${index}]`, maxChars));
}

function parseHosts(value: unknown): PolicyHosts {
  const body = objectBody(value, ["kind", "names", "pattern"], ["kind"], '"hosts"');
  switch (body["kind"]) {
    case "all":
      objectBody(value, ["kind"], [], '"hosts" of kind all');
      return { kind: "all" };
    case "list": {
      objectBody(value, ["kind", "names"], ["names"], '"hosts" of kind list');
      const names = stringList(body["names"], "hosts.names", MAX_POLICY_HOSTS, 253);
      if (names.length === 0) throw bad(`"hosts.names" must name at least one host`);
      return { kind: "list", names: [...new Set(names.map((n) => n.toLowerCase()))] };
    }
    case "pattern": {
      objectBody(value, ["kind", "pattern"], ["pattern"], '"hosts" of kind pattern');
      const pattern = stringField(body["pattern"], "hosts.pattern", 253);
      if (!/^[A-Za-z0-9.*?-]+$/.test(pattern)) {
        throw bad(`"hosts.pattern": only letters, digits, ".", "-" and the wildcards * and ?`);
      }
      return { kind: "pattern", pattern: pattern.toLowerCase() };
    }
    default:
      throw bad(`"hosts.kind" must be all, list or pattern`);
  }
}

function parseSessions(value: unknown): PolicySessions {
  const body = objectBody(
    value,
    ["states", "user", "minIdle", "disconnectedFor", "exemptUsers", "exemptGroups"],
    [],
    '"sessions"',
  );
  const states = stringList(body["states"] ?? [], "sessions.states", SESSION_STATES.length, 20).map(
    (state) => {
      const upper = state.toUpperCase();
      if (!(SESSION_STATES as readonly string[]).includes(upper)) {
        throw bad(
          `"sessions.states": ${JSON.stringify(state)} is not a session state (${SESSION_STATES.join(", ")})`,
        );
      }
      return upper as ApiSessionState;
    },
  );
  const user =
    body["user"] === undefined ? "" : stringField(body["user"], "sessions.user", 256, true);
  if (user !== "") {
    try {
      compileUserPattern(user);
    } catch (error) {
      throw bad(`"sessions.user": ${(error as Error).message}`);
    }
  }
  const duration = (key: "minIdle" | "disconnectedFor") => {
    const text = body[key];
    if (text === undefined) return undefined;
    const name = `sessions.${key}`;
    parseApiDuration(stringField(text, name, 40), name, MAX_POLICY_IDLE_MS);
    return text as string;
  };
  const minIdle = duration("minIdle");
  const disconnectedFor = duration("disconnectedFor");
  if (disconnectedFor !== undefined && states.length > 0 && !states.includes("DISCONNECTED")) {
    throw bad(
      `"sessions.disconnectedFor" selects DISCONNECTED sessions, which "sessions.states" leaves out`,
    );
  }
  const exemptUsers = stringList(
    body["exemptUsers"] ?? [],
    "sessions.exemptUsers",
    MAX_EXEMPT_USERS,
    256,
  );
  exemptUsers.forEach((pattern, index) => {
    try {
      compileUserPattern(pattern);
    } catch (error) {
      throw bad(`"sessions.exemptUsers[${index}]": ${(error as Error).message}`);
    }
  });
  const exemptGroups = stringList(
    body["exemptGroups"] ?? [],
    "sessions.exemptGroups",
    MAX_EXEMPT_GROUPS,
    256,
  );
  exemptGroups.forEach((pattern, index) => {
    try {
      compileGroupPattern(pattern);
    } catch (error) {
      throw bad(`"sessions.exemptGroups[${index}]": ${(error as Error).message}`);
    }
  });
  return {
    states,
    user,
    ...(minIdle === undefined ? {} : { minIdle }),
    ...(disconnectedFor === undefined ? {} : { disconnectedFor }),
    exemptUsers,
    exemptGroups,
  };
}

function parseWarning(value: unknown): PolicyDefinition["warning"] {
  if (value === undefined || value === null) return undefined;
  const body = objectBody(value, ["text", "grace"], ["text", "grace"], '"warning"');
  const text = stringField(body["text"], "warning.text", MAX_WARNING_CHARS);
  const grace = stringField(body["grace"], "warning.grace", 40);
  parseApiDuration(grace, "warning.grace", MAX_GRACE_MS);
  return { text, grace };
}

function cronOf(expression: string): Cron {
  // A paused job computes due times and never fires: the scheduler decides when to run.
  return new Cron(expression, { paused: true, mode: "5-part" });
}

function parseSchedule(value: unknown): PolicySchedule {
  const body = objectBody(value, ["every", "cron"], [], '"schedule"');
  const every = body["every"];
  const cron = body["cron"];
  if ((every === undefined) === (cron === undefined)) {
    throw bad(
      `"schedule" needs exactly one of "every" (an interval: 15m) or "cron" (30 17 * * 1-5)`,
    );
  }
  if (every !== undefined) {
    const text = stringField(every, "schedule.every", 40);
    const ms = parseApiDuration(text, "schedule.every", MAX_INTERVAL_MS);
    if (ms < MIN_INTERVAL_MS) throw bad(`"schedule.every" must be at least 1m`);
    return { every: text };
  }
  const text = stringField(cron, "schedule.cron", 120).trim();
  if (text.split(/\s+/).length !== 5) {
    throw bad(
      `"schedule.cron": ${JSON.stringify(text)} must have five fields: minute hour day-of-month month day-of-week (30 17 * * 1-5)`,
    );
  }
  let job: Cron;
  try {
    job = cronOf(text);
  } catch (error) {
    throw bad(`"schedule.cron": ${JSON.stringify(text)}: ${(error as Error).message}`);
  }
  if (job.nextRun() === null) throw bad(`"schedule.cron": ${JSON.stringify(text)} never comes`);
  return { cron: text };
}

/**
 * Checks a definition as the API receives it; `name` is the URL's for a replacement (the body
 * may leave it out or repeat it).
 * @throws ApiError `bad_request` naming the field at fault.
 */
export function parsePolicy(body: unknown, name?: string): PolicyDefinition {
  const record = objectBody(
    body,
    [
      "name",
      "description",
      "hosts",
      "sessions",
      "action",
      "warning",
      "schedule",
      "enabled",
      "dryRun",
    ],
    ["hosts", "sessions", "action", "schedule"],
  );
  const given = record["name"] === undefined ? name : stringField(record["name"], "name", 63);
  if (given === undefined) throw bad(`the body: "name" is required`);
  if (name !== undefined && given !== name) {
    throw bad(
      `"name" is ${JSON.stringify(given)} but the path names ${JSON.stringify(name)}; a policy cannot be renamed`,
    );
  }
  if (!POLICY_NAME.test(given)) {
    throw bad(
      `"name": 1 to 63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  const action = record["action"];
  if (action !== "disconnect" && action !== "logoff") {
    throw bad(`"action" must be disconnect or logoff`);
  }
  const warning = parseWarning(record["warning"]);
  return {
    name: given,
    description:
      record["description"] === undefined
        ? ""
        : stringField(record["description"], "description", 1000, true),
    hosts: parseHosts(record["hosts"]),
    sessions: parseSessions(record["sessions"]),
    action,
    ...(warning === undefined ? {} : { warning }),
    schedule: parseSchedule(record["schedule"]),
    enabled: record["enabled"] === undefined ? false : booleanField(record["enabled"], "enabled"),
    dryRun: record["dryRun"] === undefined ? false : booleanField(record["dryRun"], "dryRun"),
  };
}

/** Compiles a checked definition (one read back from the store is checked again). */
export function compilePolicy(definition: PolicyDefinition): Policy {
  const d = parsePolicy(definition);
  const hostPattern = d.hosts.kind === "pattern" ? compileWildcard(d.hosts.pattern) : undefined;
  const hostList = d.hosts.kind === "list" ? new Set(d.hosts.names) : undefined;
  const ms = (text: string | undefined, name: string, max: number) =>
    text === undefined ? undefined : parseApiDuration(text, name, max);
  const disconnectedForMs = ms(d.sessions.disconnectedFor, "disconnectedFor", MAX_POLICY_IDLE_MS);
  const states = new Set<ApiSessionState>(d.sessions.states);
  if (disconnectedForMs !== undefined && states.size === 0) states.add("DISCONNECTED");
  let nextDue: Policy["nextDue"];
  if ("every" in d.schedule) {
    const every = parseApiDuration(d.schedule.every, "every", MAX_INTERVAL_MS);
    // Interval due times are multiples of the interval since the epoch: a restart keeps them.
    nextDue = (afterMs) => (Math.floor(afterMs / every) + 1) * every;
  } else {
    const job = cronOf(d.schedule.cron);
    nextDue = (afterMs) => job.nextRun(new Date(afterMs))?.getTime();
  }
  return {
    definition: d,
    name: d.name,
    coversHost: (fqdn) =>
      d.hosts.kind === "all" ||
      (hostList?.has(fqdn.toLowerCase()) ?? false) ||
      (hostPattern?.test(fqdn) ?? false),
    states,
    userPattern: d.sessions.user === "" ? undefined : compileUserPattern(d.sessions.user),
    minIdleMs: ms(d.sessions.minIdle, "minIdle", MAX_POLICY_IDLE_MS),
    disconnectedForMs,
    exempt: d.sessions.exemptUsers.map((pattern) => compileUserPattern(pattern)),
    exemptGroups: d.sessions.exemptGroups.map((pattern) => ({
      pattern,
      matcher: compileGroupPattern(pattern),
    })),
    warning:
      d.warning === undefined
        ? undefined
        : {
            text: d.warning.text,
            graceMs: parseApiDuration(d.warning.grace, "grace", MAX_GRACE_MS),
          },
    nextDue,
    actor: `policy ${d.name}`,
  };
}
