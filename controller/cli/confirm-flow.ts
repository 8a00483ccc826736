/**
 * `--confirm`: ask before each change, as PowerShell's `-Confirm` does. A what-if pass finds what
 * would be disconnected; the operator answers Yes / Yes to All / No / No to All per session; then
 * only the approved sessions are disconnected, by id. Declined sessions are reported as
 * `DECLINED`, and hosts that failed the what-if pass are reported as they failed.
 */
import type { DisconnectResponse } from "../../proto/gen/wms/v1/wms_session.js";
import type { Controller, DisconnectAllOptions, DisconnectOptions } from "../controller.js";
import type { HostResult } from "../host-result.js";
import type { Target } from "../targets.js";
import type { ConfirmAnswer, CliIo } from "./io.js";
import {
  DECLINED,
  WOULD_DISCONNECT,
  hostReport,
  resultView,
  type HostReport,
  type ResultView,
} from "./report.js";
import { sessionTarget } from "./table.js";

/** What to disconnect: ids per target, or everything matching a filter (`--all`). */
export type DisconnectPlan =
  | { readonly kind: "ids"; readonly idsFor: (target: Target) => readonly number[] }
  | { readonly kind: "all"; readonly filter: DisconnectAllOptions["filter"] };

/** The plan's calls: `Disconnect` of its ids, or `DisconnectAll` with its filter. */
export function runPlan(
  controller: Controller,
  targets: readonly Target[],
  plan: DisconnectPlan,
  options: DisconnectOptions,
): AsyncIterable<HostResult<DisconnectResponse>> {
  return plan.kind === "ids"
    ? controller.disconnect(targets, plan.idsFor, options)
    : controller.disconnectAll(targets, {
        ...options,
        ...(plan.filter === undefined ? {} : { filter: plan.filter }),
      });
}

/** Runs the plan's what-if pass and collects every host's result. */
async function whatIfPass(
  controller: Controller,
  targets: readonly Target[],
  plan: DisconnectPlan,
  noWait: boolean,
  signal: AbortSignal,
): Promise<Map<string, HostResult<DisconnectResponse>>> {
  const results = runPlan(controller, targets, plan, { whatIf: true, noWait, signal });
  const byHost = new Map<string, HostResult<DisconnectResponse>>();
  for await (const result of results) byHost.set(result.host, result);
  return byHost;
}

const declined = (result: ResultView): ResultView => ({
  ...result,
  outcome: DECLINED,
  message: "declined at the --confirm prompt",
});

/** Asks, then disconnects what was approved; yields one report per target. */
export async function* confirmThenDisconnect(
  controller: Controller,
  targets: readonly Target[],
  plan: DisconnectPlan,
  io: CliIo,
  noWait: boolean,
): AsyncGenerator<HostReport> {
  const previews = await whatIfPass(controller, targets, plan, noWait, io.signal);
  const approved = new Map<string, number[]>();
  let standing: ConfirmAnswer | undefined;
  for (const target of targets) {
    const preview = previews.get(target.fqdn);
    if (preview?.status !== "ok") continue;
    for (const result of preview.response.results.map(resultView)) {
      if (result.outcome !== WOULD_DISCONNECT) continue;
      const answer =
        standing ??
        (await io.prompt(
          { operation: "Disconnect", target: sessionTarget(target.fqdn, result) },
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
      .map((r) => (r.outcome === WOULD_DISCONNECT ? declined(r) : r));
  };

  for (const target of targets) {
    const preview = previews.get(target.fqdn);
    if (preview === undefined) continue;
    if (!approved.has(target.fqdn)) {
      yield hostReport(preview, () => ({ results: unchanged(target.fqdn) }));
    }
  }
  const changing = targets.filter((target) => approved.has(target.fqdn));
  if (changing.length === 0) return;
  const results = controller.disconnect(changing, (t) => approved.get(t.fqdn) ?? [], {
    noWait,
    signal: io.signal,
  });
  for await (const result of results) {
    yield hostReport(result, (response) => ({
      results: [...response.results.map(resultView), ...unchanged(result.host)].sort(
        (a, b) => a.sessionId - b.sessionId,
      ),
    }));
  }
}
