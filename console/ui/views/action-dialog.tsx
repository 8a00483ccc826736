/**
 * Acting on a selection, always in the same three steps: the options (a message's text, a
 * warning first), the exact what-if answer of every host with protected sessions and their
 * reason, an explicit confirmation naming the count ("Log off 37 sessions on 4 hosts"), then each
 * host's result as it arrives. Failed and unreachable hosts are listed first, in red, with a
 * button that previews the same action on just those hosts. Only what the preview showed is
 * acted on: the sessions it would act on, on the hosts that answered it.
 */
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useModalDialog } from "../hooks.js";
import type { ApiClient } from "../api/client.js";
import {
  DONE,
  FAILED,
  WILL_ACT,
  runAction,
  type ActionKind,
  type ActionOptions,
  type ActionTarget,
  type HostOutcome,
} from "../api/actions-api.js";
import { ProblemBanner } from "../components/problem.js";
import { compareText, formatDuration, parseDuration, plural } from "../format.js";

/** The verbs of each action, for buttons and sentences. */
export const ACTION_WORDS: Readonly<Record<ActionKind, { verb: string; button: string }>> = {
  disconnect: { verb: "Disconnect", button: "Disconnect…" },
  logoff: { verb: "Log off", button: "Log off…" },
  message: { verb: "Send a message to", button: "Message…" },
};

type Step =
  | { readonly name: "compose" }
  | { readonly name: "preview"; readonly done: boolean }
  | { readonly name: "run"; readonly done: boolean };

/** Hosts of `target`, to show those that have not answered yet. */
function hostsOf(target: ActionTarget): string[] {
  return target.kind === "filter"
    ? [...target.hosts]
    : [...new Set(target.sessions.map((session) => session.host))];
}

/** What the preview says will be acted on: only that is sent for real. */
function confirmedTarget(target: ActionTarget, preview: readonly HostOutcome[]): ActionTarget {
  const willAct = new Map<string, Set<number>>();
  for (const host of preview) {
    if (host.status !== "ok") continue;
    const ids = host.sessions.filter((s) => WILL_ACT.has(s.outcome)).map((s) => s.sessionId);
    if (ids.length > 0) willAct.set(host.host, new Set(ids));
  }
  if (target.kind === "filter") {
    return { ...target, hosts: target.hosts.filter((host) => willAct.has(host)) };
  }
  return {
    kind: "sessions",
    sessions: target.sessions.filter((s) => willAct.get(s.host)?.has(s.sessionId) === true),
  };
}

/** The target restricted to some hosts (a retry of those that failed). */
export function targetOnHosts(target: ActionTarget, hosts: ReadonlySet<string>): ActionTarget {
  return target.kind === "filter"
    ? { ...target, hosts: target.hosts.filter((host) => hosts.has(host)) }
    : { kind: "sessions", sessions: target.sessions.filter((s) => hosts.has(s.host)) };
}

/** Sorts failures first, then by host name. */
const failuresFirst = (a: HostOutcome, b: HostOutcome) =>
  Number(a.status === "ok") - Number(b.status === "ok") || compareText(a.host, b.host);

/** What the person wrote in the dialog's first step, carried into a retry. */
export interface ComposeState {
  readonly message: string;
  readonly warnFirst: boolean;
  readonly warnText: string;
  readonly grace: string;
}

const NEW_COMPOSE: ComposeState = {
  message: "",
  warnFirst: false,
  warnText: "This session will end soon. Save your work.",
  grace: "5m",
};

/** Properties of {@link ActionDialog}. */
export interface ActionDialogProps {
  readonly api: ApiClient;
  readonly action: ActionKind;
  readonly target: ActionTarget;
  /** "37 selected sessions", "all 120 sessions matching the filter". */
  readonly describeTarget: string;
  /** The dialog closes; `acted` says whether the action itself was sent. */
  readonly onClose: (acted: boolean) => void;
  /** Opens the same action again for these hosts (retry failed hosts), with the same text. */
  readonly onRetry: (action: ActionKind, target: ActionTarget, compose: ComposeState) => void;
  /** The first step's fields as a retry starts them. @default empty message, no warning */
  readonly compose?: ComposeState | undefined;
}

/** The action's modal dialog. */
export function ActionDialog(props: ActionDialogProps): JSX.Element {
  const { action, target } = props;
  const words = ACTION_WORDS[action];
  const dialog = useModalDialog();
  const [step, setStep] = useState<Step>({ name: "compose" });
  const initial = props.compose ?? NEW_COMPOSE;
  const [message, setMessage] = useState(initial.message);
  const [warnFirst, setWarnFirst] = useState(initial.warnFirst);
  const [warnText, setWarnText] = useState(initial.warnText);
  const [grace, setGrace] = useState(initial.grace);
  const [preview, setPreview] = useState<HostOutcome[]>([]);
  const [results, setResults] = useState<HostOutcome[]>([]);
  const [problem, setProblem] = useState<unknown>(undefined);
  const [formError, setFormError] = useState<string | undefined>(undefined);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);

  const running = (step.name === "preview" || step.name === "run") && !step.done;
  const options = (): ActionOptions => ({
    action,
    ...(action === "message" ? { message: { text: message } } : {}),
    ...(warnFirst && action !== "message" ? { warn: { text: warnText, grace: graceText() } } : {}),
  });

  /** The grace period as the API writes durations: seconds with their unit. */
  const graceText = () => {
    const parsed = parseDuration(grace);
    return `${"ms" in parsed ? Math.round(parsed.ms / 1000) : 0}s`;
  };

  /** The grace period as the person reads it: `2m 00s`. */
  const graceWords = () => {
    const parsed = parseDuration(grace);
    return "ms" in parsed ? formatDuration(parsed.ms) : grace;
  };

  const startPreview = async () => {
    if (action === "message" && message.trim() === "") {
      setFormError("Write the message to send.");
      return;
    }
    if (warnFirst && action !== "message") {
      const parsed = parseDuration(grace);
      if ("error" in parsed) {
        setFormError(`Grace period: ${parsed.error}.`);
        return;
      }
      if (warnText.trim() === "") {
        setFormError("Write the warning to show first.");
        return;
      }
    }
    setFormError(undefined);
    setProblem(undefined);
    setPreview([]);
    setStep({ name: "preview", done: false });
    const answers: HostOutcome[] = [];
    try {
      await runAction(props.api, options(), target, true, (host) => {
        answers.push(host);
        setPreview([...answers]);
      });
    } catch (error) {
      setProblem(error);
    }
    setStep({ name: "preview", done: true });
  };

  const willAct = preview.flatMap((host) =>
    host.status === "ok" ? host.sessions.filter((s) => WILL_ACT.has(s.outcome)) : [],
  );
  const actingHosts = preview.filter(
    (host) => host.status === "ok" && host.sessions.some((s) => WILL_ACT.has(s.outcome)),
  ).length;
  const warning = warnFirst && action !== "message";
  const count = `${plural(willAct.length, "session")} on ${plural(actingHosts, "host")}`;
  const confirmText = warning
    ? `Warn, then ${words.verb.toLowerCase()} ${count}`
    : `${words.verb} ${count}`;

  useEffect(() => {
    if (step.name === "preview" && step.done && willAct.length > 0) confirmButton.current?.focus();
    if (step.name === "run" && step.done) closeButton.current?.focus();
  }, [step, willAct.length]);

  const confirm = async () => {
    setProblem(undefined);
    setResults([]);
    setStep({ name: "run", done: false });
    const answers: HostOutcome[] = [];
    try {
      await runAction(props.api, options(), confirmedTarget(target, preview), false, (host) => {
        answers.push(host);
        setResults([...answers]);
      });
    } catch (error) {
      setProblem(error);
    }
    setStep({ name: "run", done: true });
  };

  const shown = step.name === "run" ? results : preview;
  const expected =
    step.name === "run" ? hostsOf(confirmedTarget(target, preview)) : hostsOf(target);
  const answered = new Set(shown.map((host) => host.host));
  const waiting = expected.filter((host) => !answered.has(host));
  const failed = shown.filter((host) => host.status !== "ok");
  // Hosts the preview could not ask are left out of the action: the results say so.
  const leftOut =
    step.name === "run" ? preview.filter((h) => h.status !== "ok").map((h) => h.host) : [];
  const retryHosts = new Set([...failed.map((host) => host.host), ...leftOut]);
  const sessionFailures = shown.flatMap((host) =>
    host.status === "ok"
      ? host.sessions.filter((s) => step.name === "run" && FAILED.has(s.outcome))
      : [],
  );

  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby="action-title"
      onCancel={(event) => {
        if (running) event.preventDefault();
        else props.onClose(step.name === "run");
      }}
    >
      <h2 id="action-title">
        {words.verb} {props.describeTarget}
      </h2>
      <ol class="steps" aria-label="Steps">
        <li aria-current={step.name === "compose" ? "step" : undefined}>Options</li>
        <li aria-current={step.name === "preview" ? "step" : undefined}>Preview</li>
        <li aria-current={step.name === "run" ? "step" : undefined}>Results</li>
      </ol>

      {step.name === "compose" && (
        <form
          class="compose"
          onSubmit={(event) => {
            event.preventDefault();
            void startPreview();
          }}
        >
          {action === "message" ? (
            <label>
              Message
              <textarea
                aria-required="true"
                autoFocus
                maxLength={4096}
                rows={3}
                value={message}
                onInput={(event) => setMessage(event.currentTarget.value)}
              />
            </label>
          ) : (
            <fieldset>
              <legend>Warn first</legend>
              <label class="inline">
                <input
                  type="checkbox"
                  checked={warnFirst}
                  onChange={(event) => setWarnFirst(event.currentTarget.checked)}
                />
                Show a warning, then {words.verb.toLowerCase()} after a grace period the sessions
                that still match
              </label>
              {warnFirst && (
                <>
                  <label>
                    Warning
                    <input
                      value={warnText}
                      onInput={(event) => setWarnText(event.currentTarget.value)}
                    />
                  </label>
                  <label>
                    Grace period
                    <input
                      value={grace}
                      aria-describedby="grace-help"
                      onInput={(event) => setGrace(event.currentTarget.value)}
                    />
                    <span id="grace-help" class="help">
                      15s, 5m, 1h30m
                    </span>
                  </label>
                </>
              )}
            </fieldset>
          )}
          {formError !== undefined && (
            <p class="problem" role="alert">
              {formError}
            </p>
          )}
          <div class="dialog-buttons">
            <button type="button" class="button" onClick={() => props.onClose(false)}>
              Cancel
            </button>
            <button type="submit" class="button primary" autoFocus={action !== "message"}>
              Preview
            </button>
          </div>
        </form>
      )}

      {step.name !== "compose" && (
        <section aria-label={step.name === "preview" ? "What would happen" : "What happened"}>
          {problem !== undefined && (
            <ProblemBanner
              doing={step.name === "preview" ? "The preview" : words.verb}
              problem={problem}
            />
          )}
          {action === "message" && (
            <figure class="quoted">
              <figcaption>The message</figcaption>
              <blockquote>{message}</blockquote>
            </figure>
          )}
          {warning && (
            <figure class="quoted">
              <figcaption>
                The warning, then {words.verb.toLowerCase()} after {graceWords()} the sessions that
                still match
              </figcaption>
              <blockquote>{warnText}</blockquote>
            </figure>
          )}
          <p class="summary" role="status">
            {step.name === "preview"
              ? step.done
                ? `Preview: ${count} would be affected; nothing has been done yet.`
                : `Asking ${plural(expected.length, "host")} what would happen… ${answered.size} answered.`
              : step.done
                ? `Done: ${plural(shown.length - failed.length, "host")} answered, ${plural(failed.length, "host")} failed.`
                : warning
                  ? `Warning the sessions, then waiting ${graceWords()} before acting on those that still match… ${answered.size} of ${plural(expected.length, "host")} answered.`
                  : `Working… ${answered.size} of ${plural(expected.length, "host")} answered.`}
          </p>
          {(failed.length > 0 || sessionFailures.length > 0 || leftOut.length > 0) && (
            <div class="problem" role="alert">
              <strong>
                {failed.length > 0 &&
                  `${plural(failed.length, "host")} ${step.name === "preview" ? "did not answer the preview and will not be acted on" : "failed"}: ${failed.map((h) => h.host).join(", ")}.`}
                {sessionFailures.length > 0 &&
                  ` ${plural(sessionFailures.length, "session")} could not be acted on.`}
                {leftOut.length > 0 &&
                  ` Not acted on, as the preview did not answer: ${leftOut.join(", ")}.`}
              </strong>
              {step.name === "run" && step.done && retryHosts.size > 0 && (
                <button
                  type="button"
                  class="button small"
                  onClick={() =>
                    props.onRetry(action, targetOnHosts(target, retryHosts), {
                      message,
                      warnFirst,
                      warnText,
                      grace,
                    })
                  }
                >
                  Retry failed hosts
                </button>
              )}
            </div>
          )}
          <HostOutcomes
            hosts={[...shown].sort(failuresFirst)}
            waiting={waiting}
            acting={step.name === "run"}
          />
          <div class="dialog-buttons">
            {step.name === "preview" ? (
              <>
                <button
                  type="button"
                  class="button"
                  onClick={() => props.onClose(false)}
                  disabled={running}
                >
                  Cancel
                </button>
                <button
                  type="button"
                  class="button danger"
                  ref={confirmButton}
                  disabled={running || willAct.length === 0}
                  onClick={() => void confirm()}
                >
                  {!step.done
                    ? "Waiting for every host…"
                    : willAct.length === 0
                      ? "Nothing to do"
                      : confirmText}
                </button>
              </>
            ) : (
              <button
                type="button"
                class="button primary"
                ref={closeButton}
                onClick={() => props.onClose(step.name === "run")}
                disabled={running}
              >
                Close
              </button>
            )}
          </div>
        </section>
      )}
    </dialog>
  );
}

/** An outcome in words: `WOULD_LOG_OFF` → `would log off`. */
const outcomeWords = (outcome: string) => outcome.toLowerCase().replaceAll("_", " ");

/** How a session's warning fared, when it was warned: "warned", or why it could not be. */
function warnedOf(host: HostOutcome, sessionId: number): JSX.Element | undefined {
  const warning = host.warnings.find((w) => w.sessionId === sessionId);
  if (warning === undefined) return undefined;
  return warning.outcome === "MESSAGE_SENT" ? (
    <span class="warned">warned</span>
  ) : (
    <span class="reason">warning {outcomeWords(warning.outcome)}</span>
  );
}

/** Every host's answer, failures first, then those still awaited. */
function HostOutcomes(props: {
  readonly hosts: readonly HostOutcome[];
  readonly waiting: readonly string[];
  readonly acting: boolean;
}): JSX.Element {
  return (
    <ul class="outcomes" aria-label="Hosts">
      {props.hosts.map((host) => (
        <li key={host.host} class={host.status === "ok" ? "outcome ok" : "outcome failed"}>
          <div class="outcome-head">
            <span class="host-name">{host.host}</span>
            <span class={`badge ${host.status === "ok" ? "status-online" : "status-unreachable"}`}>
              <span class="dot" aria-hidden="true" />
              {host.status === "ok" ? "answered" : host.status}
            </span>
            {host.status !== "ok" && (
              <span class="outcome-message">
                {host.message ?? host.code}
                {host.mayHaveActed &&
                  props.acting &&
                  " — it may have acted: check the host before retrying"}
              </span>
            )}
          </div>
          {host.sessions.length > 0 && (
            <ul class="sessions-outcomes" aria-label={`Sessions of ${host.host}`}>
              {host.sessions.map((session) => (
                <li
                  key={session.sessionId}
                  class={
                    session.outcome === "PROTECTED"
                      ? "protected"
                      : WILL_ACT.has(session.outcome) || DONE.has(session.outcome)
                        ? "acts"
                        : FAILED.has(session.outcome)
                          ? "other"
                          : "skipped"
                  }
                >
                  <span>
                    session {session.sessionId}
                    {session.user ? ` (${session.user})` : ""}
                  </span>
                  <span class="outcome-word">
                    {session.outcome.toLowerCase().replaceAll("_", " ")}
                  </span>
                  {session.protection !== undefined && (
                    <span class="reason">{session.protection}</span>
                  )}
                  {props.acting && warnedOf(host, session.sessionId)}
                  {session.message !== "" &&
                    !session.message.toLowerCase().includes(outcomeWords(session.outcome)) && (
                      <span class="muted">{session.message}</span>
                    )}
                </li>
              ))}
            </ul>
          )}
          {host.status === "ok" && host.sessions.length === 0 && (
            <p class="muted">no matching session</p>
          )}
        </li>
      ))}
      {props.waiting.map((host) => (
        <li key={host} class="outcome waiting">
          <div class="outcome-head">
            <span class="host-name">{host}</span>
            <span class="badge status-unknown">
              <span class="dot" aria-hidden="true" />
              waiting
            </span>
          </div>
        </li>
      ))}
    </ul>
  );
}
