/**
 * What a policy does, now: its preview (each host's what-if answer) and its run, through the
 * controller library as `policy NAME` (the `wmsfleet-actor` the agents record).
 *
 * Both start the same way, so that a preview on an unchanged fleet is what the run then does:
 * 1. the hosts the policy covers, among the inventory's (a listed host the inventory lacks is an
 *    `unknown-host` result);
 * 2. `ListSessions` on each (a host that is down is a result, not a stop);
 * 3. the console's selection: state, user pattern, idle at least (the agent's idle time),
 *    disconnected for at least (since when the console's history saw it disconnected — never
 *    earlier than the truth), exempt users and groups (left out, shown as `EXEMPT` with the user
 *    or group); with exempt groups, a session whose user's groups the agent does not know is
 *    left out too (`GROUPS_UNKNOWN`, with the agent's note): it might be in an exempt group;
 * 4. the agent's answer for those sessions by id: a what-if for the preview and a dry run; the
 *    action for a run — after the warning and the grace period when the policy warns, through
 *    warn-then-act, which leaves a user who came back (`NO_LONGER_MATCHES`).
 */
import {
  groupMembership,
  idleMsOf,
  type Controller,
  type GraceClock,
  type HostResult,
  type Target,
} from "../../controller/index.js";
import {
  Outcome,
  sessionStateFromJSON,
  type Session,
  type SessionFilter,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import type { ApiPolicyHostResult, ApiPolicySessionResult } from "../api/types.js";
import type { Fleet } from "../fleet/fleet.js";
import { outcomeName, stateName } from "../fleet/sessions-view.js";
import type { Policy } from "./policy.js";

/** One session's part in a preview or run. */
export type PolicySessionResult = ApiPolicySessionResult;
/** One host's part in a preview or run. */
export type PolicyHostResult = ApiPolicyHostResult;

/** Counts over every host. */
export interface PolicySummary {
  readonly hosts: number;
  readonly failedHosts: number;
  readonly matched: number;
  /** Outcome → sessions. */
  readonly outcomes: Readonly<Record<string, number>>;
}

/** Options of {@link createPolicyRunner}. */
export interface PolicyRunnerOptions {
  readonly controller: Controller;
  readonly fleet: Fleet;
  /** Since when a session has been disconnected, Unix ms (the history's answer). */
  readonly disconnectedSince: (host: string, sessionId: number) => number | undefined;
  /** Wall clock, ms. @default Date.now */
  readonly now?: () => number;
  /** The grace period's clock. @default the controller's real one */
  readonly graceClock?: GraceClock;
}

/** Previews and runs policies. */
export interface PolicyRunner {
  /** Each covered host's what-if answer now. */
  preview(policy: Policy, signal?: AbortSignal): Promise<PolicyHostResult[]>;
  /** Runs the policy (a what-if for a dry run). */
  run(policy: Policy, signal?: AbortSignal): Promise<PolicyHostResult[]>;
}

const who = (s: Session) => (s.domainName === "" ? s.userName : `${s.domainName}\\${s.userName}`);

function sessionResult(result: SessionResult): PolicySessionResult {
  const session = result.session;
  return {
    sessionId: result.sessionId,
    user: session === undefined ? "" : who(session),
    state: session === undefined ? "" : stateName(session),
    outcome: outcomeName(result.outcome),
    message: result.message,
  };
}

/** Adds up the hosts' results. */
export function summarize(results: readonly PolicyHostResult[]): PolicySummary {
  const outcomes: Record<string, number> = {};
  let matched = 0;
  let failedHosts = 0;
  for (const host of results) {
    matched += host.matched;
    if (host.status !== "ok") failedHosts += 1;
    for (const r of host.results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  }
  return { hosts: results.length, failedHosts, matched, outcomes };
}

/** The filter the agent's sessions must still match after the grace period. */
function recheckFilter(policy: Policy): SessionFilter {
  const ms = policy.minIdleMs;
  return {
    userNamePattern: policy.definition.sessions.user,
    states: [...policy.states].map((state) => sessionStateFromJSON(`SESSION_STATE_${state}`)),
    minIdleTime:
      ms === undefined ? undefined : { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
  };
}

/** Creates the runner. */
export function createPolicyRunner(options: PolicyRunnerOptions): PolicyRunner {
  const { controller, fleet } = options;
  const now = options.now ?? Date.now;

  /**
   * Whether a session is selected; `left` (with the outcome and why) when it would be but for an
   * exemption, or for groups the agent could not tell while the policy exempts groups.
   */
  const select = (
    policy: Policy,
    host: string,
    session: Session,
    nowMs: number,
  ): "yes" | "no" | { readonly outcome: "EXEMPT" | "GROUPS_UNKNOWN"; readonly message: string } => {
    if (session.userName === "") return "no";
    if (policy.states.size > 0 && !policy.states.has(stateName(session))) return "no";
    const names = [session.userName, who(session)];
    if (policy.userPattern !== undefined && !names.some((n) => policy.userPattern?.test(n))) {
      return "no";
    }
    if (policy.minIdleMs !== undefined) {
      const idle = idleMsOf(session, nowMs);
      if (idle === undefined || idle < policy.minIdleMs) return "no";
    }
    if (policy.disconnectedForMs !== undefined) {
      const since = options.disconnectedSince(host, session.sessionId);
      if (since === undefined || nowMs - since < policy.disconnectedForMs) return "no";
    }
    if (policy.exempt.some((pattern) => names.some((n) => pattern.test(n)))) {
      return { outcome: "EXEMPT", message: "left alone: the policy exempts this user" };
    }
    if (policy.exemptGroups.length > 0) {
      const membership = groupMembership(session, policy.exemptGroups);
      if (membership.kind === "member") {
        return {
          outcome: "EXEMPT",
          message: `left alone: the policy exempts the group ${membership.pattern} (the user is in ${membership.group})`,
        };
      }
      if (membership.kind === "unknown") {
        return {
          outcome: "GROUPS_UNKNOWN",
          message: `left alone: the policy exempts groups, and this user's are unknown (${membership.why})`,
        };
      }
    }
    return "yes";
  };

  async function execute(
    policy: Policy,
    mode: "preview" | "run",
    signal: AbortSignal | undefined,
  ): Promise<PolicyHostResult[]> {
    const actor = policy.actor;
    const results: PolicyHostResult[] = [];
    const targets: Target[] = [];
    for (const host of fleet.hosts()) {
      const target = fleet.target(host.host);
      if (target !== undefined && policy.coversHost(host.host)) targets.push(target);
    }
    if (policy.definition.hosts.kind === "list") {
      for (const name of policy.definition.hosts.names) {
        if (fleet.target(name) !== undefined) continue;
        results.push({
          host: name,
          status: "unknown-host",
          message: `${name} is not in the console's inventory: nothing was sent`,
          matched: 0,
          results: [],
        });
      }
    }
    const failure = (result: HostResult<unknown>, matched: number): PolicyHostResult => {
      if (result.status === "ok") throw new Error("not a failure");
      return {
        host: result.host,
        status: result.status,
        code: result.code,
        message: result.message,
        ...(result.mayHaveActed === true ? { mayHaveActed: true } : {}),
        matched,
        results: [],
      };
    };

    // 2 and 3: each host's sessions now, and the selection.
    const chosen = new Map<string, number[]>();
    const exempt = new Map<string, PolicySessionResult[]>();
    const nowMs = now();
    for await (const listing of controller.listSessions(targets, {
      actor,
      ...(signal === undefined ? {} : { signal }),
    })) {
      if (listing.status !== "ok") {
        results.push(failure(listing, 0));
        continue;
      }
      const ids: number[] = [];
      const left: PolicySessionResult[] = [];
      for (const session of listing.response.sessions) {
        const verdict = select(policy, listing.host, session, nowMs);
        if (verdict === "yes") ids.push(session.sessionId);
        if (typeof verdict === "object") {
          left.push({
            sessionId: session.sessionId,
            user: who(session),
            state: stateName(session),
            outcome: verdict.outcome,
            message: verdict.message,
          });
        }
      }
      exempt.set(listing.host, left);
      if (ids.length > 0) chosen.set(listing.host, ids);
      else results.push({ host: listing.host, status: "ok", matched: 0, results: left });
    }

    // 4. The agents' answer for the chosen sessions.
    const acting = targets.filter((target) => chosen.has(target.fqdn));
    if (acting.length > 0) {
      const selection = {
        kind: "ids" as const,
        sessionIds: (target: Target) => chosen.get(target.fqdn) ?? [],
      };
      const whatIf = mode === "preview" || policy.definition.dryRun;
      const common = { actor, ...(signal === undefined ? {} : { signal }) };
      const answers: AsyncIterable<
        HostResult<{ results: SessionResult[]; warnings?: readonly SessionResult[] }>
      > =
        !whatIf && policy.warning !== undefined
          ? controller.warnThenAct(acting, {
              ...common,
              action: policy.definition.action,
              selection,
              warning: { text: policy.warning.text },
              graceMs: policy.warning.graceMs,
              recheckFilter: recheckFilter(policy),
              ...(options.graceClock === undefined ? {} : { clock: options.graceClock }),
            })
          : controller.act(policy.definition.action, acting, selection, { ...common, whatIf });
      for await (const answer of answers) {
        const matched = chosen.get(answer.host)?.length ?? 0;
        if (answer.status !== "ok") {
          results.push(failure(answer, matched));
          continue;
        }
        const warnings = answer.response.warnings;
        results.push({
          host: answer.host,
          status: "ok",
          matched,
          results: [
            ...answer.response.results.map(sessionResult),
            ...(exempt.get(answer.host) ?? []),
          ].sort((a, b) => a.sessionId - b.sessionId),
          ...(warnings === undefined
            ? {}
            : {
                warned: warnings.filter((w) => w.outcome === Outcome.MESSAGE_SENT).length,
              }),
        });
      }
    }
    return results.sort((a, b) => a.host.localeCompare(b.host));
  }

  return {
    preview: (policy, signal) => execute(policy, "preview", signal),
    run: (policy, signal) => execute(policy, "run", signal),
  };
}
