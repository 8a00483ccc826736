/**
 * `--confirm`: ask before each change, as PowerShell's `-Confirm` does. A what-if pass finds what
 * would be done; the operator answers Yes / Yes to All / No / No to All per session; then only
 * the approved sessions are acted on, by id (directly, or warned first with `--warn`). Declined
 * sessions are reported as `DECLINED`, and hosts that failed the what-if pass as they failed.
 */
import type { Controller } from "../controller.js";
import type { HostResult } from "../host-result.js";
import {
  ACTION_VERBS,
  type ActionResponse,
  type SessionAction,
  type SessionIdsByTarget,
} from "../session-actions.js";
import type { Target } from "../targets.js";
import type { ConfirmAnswer, CliIo } from "./io.js";
import {
  DECLINED,
  actionReport,
  outcomeName,
  type ActionAnswer,
  resultView,
  type HostReport,
  type ResultView,
} from "./report.js";
import type { Plan } from "./selection.js";
import { sessionTarget } from "./table.js";

/** Acts on the approved sessions: by id, the same targets' results as the action would give. */
export type ApprovedRun = (
  targets: readonly Target[],
  sessionIds: SessionIdsByTarget,
) => AsyncIterable<HostResult<ActionAnswer>>;

/** Runs the plan's what-if pass and collects every host's result. */
async function whatIfPass(
  controller: Controller,
  action: SessionAction,
  plan: Plan,
  signal: AbortSignal,
): Promise<Map<string, HostResult<ActionResponse>>> {
  const results = controller.act(action, plan.targets, plan.selection, { whatIf: true, signal });
  const byHost = new Map<string, HostResult<ActionResponse>>();
  for await (const result of results) byHost.set(result.host, result);
  return byHost;
}

const declined = (result: ResultView): ResultView => ({
  ...result,
  outcome: DECLINED,
  message: "declined at the --confirm prompt",
});

/** Asks, then acts (through `run`) on what was approved; yields one report per target. */
export async function* confirmThenAct(
  controller: Controller,
  action: SessionAction,
  plan: Plan,
  io: CliIo,
  run: ApprovedRun,
): AsyncGenerator<HostReport> {
  const verb = ACTION_VERBS[action];
  const would = outcomeName(verb.would);
  const previews = await whatIfPass(controller, action, plan, io.signal);
  const approved = new Map<string, number[]>();
  let standing: ConfirmAnswer | undefined;
  for (const target of plan.targets) {
    const preview = previews.get(target.fqdn);
    if (preview?.status !== "ok") continue;
    for (const result of preview.response.results.map(resultView)) {
      if (result.outcome !== would) continue;
      const answer =
        standing ??
        (await io.prompt(
          { operation: verb.operation, target: sessionTarget(target.fqdn, result) },
          io.signal,
        ));
      if (answer === "yes-to-all" || answer === "no-to-all") standing = answer;
      if (answer === "yes" || answer === "yes-to-all") {
        approved.set(target.fqdn, [...(approved.get(target.fqdn) ?? []), result.sessionId]);
      }
    }
  }

  /** The what-if results that are not changes, and the declined ones. */
  const unchanged = (fqdn: string): ResultView[] => {
    const preview = previews.get(fqdn);
    if (preview?.status !== "ok") return [];
    const yes = new Set(approved.get(fqdn) ?? []);
    return preview.response.results
      .map(resultView)
      .filter((r) => !yes.has(r.sessionId))
      .map((r) => (r.outcome === would ? declined(r) : r));
  };

  for (const target of plan.targets) {
    const preview = previews.get(target.fqdn);
    if (preview === undefined) continue;
    if (!approved.has(target.fqdn)) {
      yield actionReport(preview, { extra: unchanged(target.fqdn) });
    }
  }
  const changing = plan.targets.filter((target) => approved.has(target.fqdn));
  if (changing.length === 0) return;
  for await (const result of run(changing, (t) => approved.get(t.fqdn) ?? [])) {
    yield actionReport(result, { extra: unchanged(result.host) });
  }
}
