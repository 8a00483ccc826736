/**
 * The body of `POST /api/v1/actions`, checked field by field and turned into what the controller
 * takes. Everything that is wrong with a request is found here, before the audit trail records
 * it and before anything reaches an agent; a host that is well named but not in the inventory is
 * not an error of the request: it gets its own result line (`unknown-host`).
 */
import {
  MAX_MESSAGE_TEXT_CHARS,
  MAX_MESSAGE_TIMEOUT_MS,
  MAX_MESSAGE_TITLE_CHARS,
  MAX_SESSION_ID,
  MIN_MESSAGE_TIMEOUT_MS,
  compileUserPattern,
  normalizeHostName,
  type SessionSelection,
  type Target,
} from "../../controller/index.js";
import { SessionFilter, SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { ApiError } from "./api-error.js";
import { parseApiDuration } from "./duration.js";
import { SESSION_STATES, type ApiActionName } from "./types.js";
import { booleanField, integerField, objectBody, stringField } from "./validate.js";

/** Sessions named by id in one request at most (a classroom of classrooms). */
export const MAX_ACTION_SESSIONS = 10_000;
/** Hosts named in one request at most. */
export const MAX_ACTION_HOSTS = 10_000;
/**
 * The longest warning grace period the API takes: one hour. The request stays open through it
 * (the answer's lines come after), which a proxy in front of the console must allow.
 */
export const MAX_API_GRACE_MS = 3_600_000;

/** A request, checked. */
export interface ActionPlan {
  readonly action: ApiActionName;
  readonly whatIf: boolean;
  /** The hosts of the request that are in the inventory, in the request's order. */
  readonly targets: readonly Target[];
  /** Hosts of the request that are not in the inventory. */
  readonly unknownHosts: readonly string[];
  readonly selection: SessionSelection;
  readonly message: { text: string; title?: string; timeoutMs?: number } | undefined;
  readonly warn: { text: string; title?: string; graceMs: number } | undefined;
  /** What the audit trail records of the request. */
  readonly audit: Record<string, unknown>;
}

const ACTIONS: readonly ApiActionName[] = ["disconnect", "logoff", "message"];

function hostName(value: unknown, where: string): string {
  const text = stringField(value, where, 253);
  try {
    return normalizeHostName(text);
  } catch (error) {
    throw ApiError.badRequest(`"${where}": ${(error as Error).message}`);
  }
}

function textAndTitle(value: unknown, where: string, extra: string, extraRequired: boolean) {
  const body = objectBody(
    value,
    ["text", "title", extra],
    extraRequired ? ["text", extra] : ["text"],
    `"${where}"`,
  );
  const text = stringField(body["text"], `${where}.text`, MAX_MESSAGE_TEXT_CHARS);
  if (text.trim() === "") throw ApiError.badRequest(`"${where}.text" is only white space`);
  const title =
    body["title"] === undefined
      ? undefined
      : stringField(body["title"], `${where}.title`, MAX_MESSAGE_TITLE_CHARS, true);
  return { body, text, ...(title === undefined ? {} : { title }) };
}

/**
 * Checks a request against the inventory (`targetOf` finds a host's target).
 * @throws ApiError `bad_request` naming the field at fault.
 */
export function parseActionRequest(
  input: unknown,
  targetOf: (fqdn: string) => Target | undefined,
  allHosts: () => readonly Target[],
): ActionPlan {
  const body = objectBody(
    input,
    ["action", "sessions", "hosts", "filter", "whatIf", "message", "warn"],
    ["action"],
  );
  const action = body["action"];
  if (typeof action !== "string" || !(ACTIONS as readonly string[]).includes(action)) {
    throw ApiError.badRequest(`"action" must be one of ${ACTIONS.join(", ")}`);
  }
  const verb = action as ApiActionName;
  const whatIf = body["whatIf"] === undefined ? false : booleanField(body["whatIf"], "whatIf");
  if ((body["sessions"] === undefined) === (body["hosts"] === undefined)) {
    throw ApiError.badRequest('give exactly one of "sessions" (by id) and "hosts" (with "filter")');
  }

  let message: ActionPlan["message"];
  if (verb === "message") {
    if (body["message"] === undefined) {
      throw ApiError.badRequest('"message" is required to send one');
    }
    const parsed = textAndTitle(body["message"], "message", "timeout", false);
    let timeoutMs: number | undefined;
    if (parsed.body["timeout"] !== undefined) {
      timeoutMs = parseApiDuration(
        stringField(parsed.body["timeout"], "message.timeout", 32),
        "message.timeout",
        MAX_MESSAGE_TIMEOUT_MS,
      );
      if (timeoutMs < MIN_MESSAGE_TIMEOUT_MS) {
        throw ApiError.badRequest('"message.timeout" is at least 1s');
      }
    }
    message = {
      text: parsed.text,
      ...(parsed.title === undefined ? {} : { title: parsed.title }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
  } else if (body["message"] !== undefined) {
    throw ApiError.badRequest(
      `"message" only goes with "action": "message" (use "warn" to warn before a ${verb})`,
    );
  }

  let warn: ActionPlan["warn"];
  if (body["warn"] !== undefined) {
    if (verb === "message")
      throw ApiError.badRequest('"warn" goes with disconnect and logoff, not message');
    const parsed = textAndTitle(body["warn"], "warn", "grace", true);
    const graceMs = parseApiDuration(
      stringField(parsed.body["grace"], "warn.grace", 32),
      "warn.grace",
      MAX_API_GRACE_MS,
    );
    warn = {
      text: parsed.text,
      ...(parsed.title === undefined ? {} : { title: parsed.title }),
      graceMs,
    };
  }

  const wanted: string[] = [];
  let selection: SessionSelection;
  const audit: Record<string, unknown> = { action: verb, whatIf };
  if (body["sessions"] !== undefined) {
    if (body["filter"] !== undefined)
      throw ApiError.badRequest('"filter" goes with "hosts", not "sessions"');
    const list = body["sessions"];
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ACTION_SESSIONS) {
      throw ApiError.badRequest(
        `"sessions" must be an array of 1..${MAX_ACTION_SESSIONS} {host, sessionId}`,
      );
    }
    const ids = new Map<string, Set<number>>();
    list.forEach((item: unknown, index) => {
      const where = `sessions[${index}]`;
      const entry = objectBody(item, ["host", "sessionId"], ["host", "sessionId"], `"${where}"`);
      const host = hostName(entry["host"], `${where}.host`);
      const id = integerField(entry["sessionId"], `${where}.sessionId`, 0, MAX_SESSION_ID);
      if (!ids.has(host)) {
        ids.set(host, new Set());
        wanted.push(host);
      }
      ids.get(host)?.add(id);
    });
    const byHost = new Map([...ids].map(([host, set]) => [host, [...set].sort((a, b) => a - b)]));
    selection = { kind: "ids", sessionIds: (target: Target) => byHost.get(target.fqdn) ?? [] };
    audit["sessions"] = Object.fromEntries(byHost);
  } else {
    const hosts = body["hosts"];
    if (hosts === "all") {
      wanted.push(...allHosts().map((t) => t.fqdn));
    } else {
      if (!Array.isArray(hosts) || hosts.length === 0 || hosts.length > MAX_ACTION_HOSTS) {
        throw ApiError.badRequest(
          `"hosts" must be "all" or an array of 1..${MAX_ACTION_HOSTS} host names`,
        );
      }
      for (const [index, host] of hosts.entries()) {
        const name = hostName(host, `hosts[${index}]`);
        if (!wanted.includes(name)) wanted.push(name);
      }
    }
    const filter = parseFilter(body["filter"]);
    selection = { kind: "all", filter: filter.filter };
    audit["hosts"] = hosts === "all" ? "all" : wanted;
    audit["filter"] = filter.audit;
  }
  if (message !== undefined) audit["message"] = message;
  if (warn !== undefined) audit["warn"] = warn;

  const targets: Target[] = [];
  const unknownHosts: string[] = [];
  for (const host of wanted) {
    const target = targetOf(host);
    if (target === undefined) unknownHosts.push(host);
    else targets.push(target);
  }
  return { action: verb, whatIf, targets, unknownHosts, selection, message, warn, audit };
}

/** The `filter` of a request with `hosts`. */
function parseFilter(value: unknown): { filter: SessionFilter; audit: Record<string, unknown> } {
  if (value === undefined) return { filter: SessionFilter.fromPartial({}), audit: {} };
  const body = objectBody(value, ["user", "states", "minIdle"], [], '"filter"');
  const audit: Record<string, unknown> = {};
  let userNamePattern = "";
  if (body["user"] !== undefined) {
    userNamePattern = stringField(body["user"], "filter.user", 256, true);
    try {
      compileUserPattern(userNamePattern);
    } catch (error) {
      throw ApiError.badRequest(`"filter.user": ${(error as Error).message}`);
    }
    audit["user"] = userNamePattern;
  }
  const states: SessionState[] = [];
  if (body["states"] !== undefined) {
    const list = body["states"];
    if (!Array.isArray(list) || list.length > SESSION_STATES.length) {
      throw ApiError.badRequest(
        `"filter.states" must be an array of states (${SESSION_STATES.join(", ")})`,
      );
    }
    for (const [index, state] of list.entries()) {
      const position =
        typeof state === "string" ? (SESSION_STATES as readonly string[]).indexOf(state) : -1;
      if (position < 0) {
        throw ApiError.badRequest(
          `"filter.states[${index}]" must be one of ${SESSION_STATES.join(", ")}`,
        );
      }
      states.push(SessionState.ACTIVE + position);
    }
    audit["states"] = list;
  }
  let minIdleTime: { seconds: number; nanos: number } | undefined;
  if (body["minIdle"] !== undefined) {
    const ms = parseApiDuration(
      stringField(body["minIdle"], "filter.minIdle", 32),
      "filter.minIdle",
      30 * 86_400_000,
    );
    minIdleTime = { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
    audit["minIdle"] = body["minIdle"];
  }
  return {
    filter: SessionFilter.fromPartial({
      userNamePattern,
      states,
      ...(minIdleTime === undefined ? {} : { minIdleTime }),
    }),
    audit,
  };
}
