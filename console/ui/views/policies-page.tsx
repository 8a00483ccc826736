/**
 * Policies: the list (what each does, when it next runs, whether it is on), an editor whose
 * mistakes are the console's own words (the API checks every field), a preview of what a policy
 * would do now on each host, switching it on and off, and its runs with each host's results.
 * `admin` edits; everyone else reads and previews.
 */
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type {
  ApiPolicy,
  ApiPolicyDefinition,
  ApiPolicyHostResult,
  ApiPolicyRun,
  ApiSessionState,
  PolicyList,
  PolicyPreview,
  PolicyRunPage,
} from "../../api/types.js";
import type { ApiClient } from "../api/client.js";
import { ProblemBanner } from "../components/problem.js";
import { formatTime, plural } from "../format.js";

/** The states a policy usually selects. */
const STATES: readonly ApiSessionState[] = ["ACTIVE", "IDLE", "DISCONNECTED", "CONNECTED"];

/** The editor's fields, as text. */
interface Draft {
  name: string;
  description: string;
  hostsKind: "all" | "list" | "pattern";
  hostsText: string;
  states: ApiSessionState[];
  user: string;
  minIdle: string;
  disconnectedFor: string;
  exemptUsers: string;
  exemptGroups: string;
  action: "disconnect" | "logoff";
  warn: boolean;
  warningText: string;
  grace: string;
  scheduleKind: "every" | "cron";
  scheduleText: string;
  enabled: boolean;
  dryRun: boolean;
}

const EMPTY: Draft = {
  name: "",
  description: "",
  hostsKind: "all",
  hostsText: "",
  states: ["IDLE"],
  user: "",
  minIdle: "30m",
  disconnectedFor: "",
  exemptUsers: "",
  exemptGroups: "",
  action: "logoff",
  warn: false,
  warningText: "",
  grace: "5m",
  scheduleKind: "every",
  scheduleText: "15m",
  enabled: false,
  dryRun: false,
};

function draftOf(definition: ApiPolicyDefinition): Draft {
  const hosts = definition.hosts;
  const s = definition.sessions;
  return {
    name: definition.name,
    description: definition.description ?? "",
    hostsKind: hosts.kind,
    hostsText:
      hosts.kind === "list"
        ? hosts.names.join(", ")
        : hosts.kind === "pattern"
          ? hosts.pattern
          : "",
    states: [...(s.states ?? [])],
    user: s.user ?? "",
    minIdle: s.minIdle ?? "",
    disconnectedFor: s.disconnectedFor ?? "",
    exemptUsers: (s.exemptUsers ?? []).join(", "),
    exemptGroups: (s.exemptGroups ?? []).join(", "),
    action: definition.action,
    warn: definition.warning !== undefined && definition.warning !== null,
    warningText: definition.warning?.text ?? "",
    grace: definition.warning?.grace ?? "5m",
    scheduleKind: "cron" in definition.schedule ? "cron" : "every",
    scheduleText:
      "cron" in definition.schedule ? definition.schedule.cron : definition.schedule.every,
    enabled: definition.enabled ?? false,
    dryRun: definition.dryRun ?? false,
  };
}

const list = (text: string) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

/** The definition the API takes; the API checks it and says what is wrong. */
function definitionOf(draft: Draft): ApiPolicyDefinition {
  return {
    name: draft.name.trim(),
    description: draft.description,
    hosts:
      draft.hostsKind === "all"
        ? { kind: "all" }
        : draft.hostsKind === "list"
          ? { kind: "list", names: list(draft.hostsText) }
          : { kind: "pattern", pattern: draft.hostsText.trim() },
    sessions: {
      states: draft.states,
      user: draft.user.trim(),
      ...(draft.minIdle.trim() === "" ? {} : { minIdle: draft.minIdle.trim() }),
      ...(draft.disconnectedFor.trim() === ""
        ? {}
        : { disconnectedFor: draft.disconnectedFor.trim() }),
      exemptUsers: list(draft.exemptUsers),
      exemptGroups: list(draft.exemptGroups),
    },
    action: draft.action,
    ...(draft.warn ? { warning: { text: draft.warningText, grace: draft.grace.trim() } } : {}),
    schedule:
      draft.scheduleKind === "cron"
        ? { cron: draft.scheduleText.trim() }
        : { every: draft.scheduleText.trim() },
    enabled: draft.enabled,
    dryRun: draft.dryRun,
  };
}

/** What a policy does, in a line. */
function describe(definition: ApiPolicyDefinition): string {
  const s = definition.sessions;
  const parts = [
    s.states !== undefined && s.states.length > 0 ? s.states.join("/") : "any state",
    s.minIdle !== undefined ? `idle ≥ ${s.minIdle}` : "",
    s.disconnectedFor !== undefined ? `disconnected ≥ ${s.disconnectedFor}` : "",
    s.user !== undefined && s.user !== "" ? `user ${s.user}` : "",
    s.exemptUsers !== undefined && s.exemptUsers.length > 0
      ? `except ${s.exemptUsers.join(", ")}`
      : "",
    s.exemptGroups !== undefined && s.exemptGroups.length > 0
      ? `except members of ${s.exemptGroups.join(", ")}`
      : "",
  ].filter((part) => part !== "");
  const verb = definition.action === "logoff" ? "Log off" : "Disconnect";
  const warn =
    definition.warning !== undefined && definition.warning !== null
      ? `, after a warning and ${definition.warning.grace}`
      : "";
  return `${verb} ${parts.join(", ")}${warn}`;
}

const scheduleText = (definition: ApiPolicyDefinition) =>
  "cron" in definition.schedule
    ? `cron ${definition.schedule.cron}`
    : `every ${definition.schedule.every}`;

/** Each host's results, as a list. */
export function HostResults(props: {
  readonly hosts: readonly ApiPolicyHostResult[];
  readonly label: string;
}): JSX.Element {
  return (
    <ul class="host-results" aria-label={props.label}>
      {props.hosts.map((host) => (
        <li key={host.host} class={host.status === "ok" ? undefined : "row-bad"}>
          <strong>{host.host}</strong>{" "}
          {host.status === "ok" ? (
            <span class="muted">
              {plural(host.matched, "session")} selected
              {host.warned !== undefined ? `, ${host.warned} warned` : ""}
            </span>
          ) : (
            <span role="alert">
              {host.status}: {host.message ?? host.code ?? ""}
            </span>
          )}
          {host.results.length > 0 && (
            <ul>
              {host.results.map((result) => (
                <li key={result.sessionId}>
                  <span class={`outcome outcome-${result.outcome.toLowerCase()}`}>
                    {result.outcome}
                  </span>{" "}
                  session {result.sessionId} {result.user}{" "}
                  <span class="muted">
                    {result.state} — {result.message}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ul>
  );
}

/** The runs of one policy. */
function Runs(props: { readonly api: ApiClient; readonly name: string; readonly version: number }) {
  const [runs, setRuns] = useState<readonly ApiPolicyRun[]>([]);
  const [problem, setProblem] = useState<unknown>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    props.api
      .get<PolicyRunPage>(`/api/v1/policies/${props.name}/runs`, { limit: 20 }, controller.signal)
      .then((page) => {
        setRuns(page.runs);
        setProblem(undefined);
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setProblem(error);
      });
    return () => controller.abort();
  }, [props.name, props.version]);
  return (
    <section aria-label={`Runs of ${props.name}`}>
      <h3>Runs</h3>
      {problem !== undefined && <ProblemBanner doing="Loading the runs" problem={problem} />}
      {runs.length === 0 && problem === undefined && <p class="muted">No run yet.</p>}
      <ol class="runs">
        {runs.map((run) => {
          const outcomes = (run.summary["outcomes"] ?? {}) as Record<string, number>;
          return (
            <li key={run.id}>
              <details>
                <summary>
                  <time dateTime={run.dueAt}>{formatTime(Date.parse(run.dueAt))}</time>{" "}
                  <strong>{run.outcome}</strong>{" "}
                  <span class="muted">
                    {Object.entries(outcomes)
                      .map(([outcome, n]) => `${outcome} ${n}`)
                      .join(", ")}
                    {typeof run.summary["reason"] === "string" ? run.summary["reason"] : ""}
                  </span>
                </summary>
                <HostResults hosts={run.hosts} label={`Results of the run at ${run.dueAt}`} />
              </details>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/** The editor of a new or existing policy. */
function Editor(props: {
  readonly api: ApiClient;
  readonly existing: ApiPolicy | undefined;
  readonly canEdit: boolean;
  readonly onSaved: (policy: ApiPolicy) => void;
  readonly onCancel: () => void;
}): JSX.Element {
  const [draft, setDraft] = useState<Draft>(
    props.existing === undefined ? EMPTY : draftOf(props.existing.definition),
  );
  const [problem, setProblem] = useState<unknown>(undefined);
  const [preview, setPreview] = useState<PolicyPreview | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) =>
    setDraft({ ...draft, [key]: value });

  const save = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      const body = definitionOf(draft);
      const response =
        props.existing === undefined
          ? await props.api.post("/api/v1/policies", body)
          : await props.api.request(`/api/v1/policies/${props.existing.definition.name}`, {
              method: "PUT",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(body),
            });
      props.onSaved((await response.json()) as ApiPolicy);
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  const runPreview = async () => {
    setBusy(true);
    setProblem(undefined);
    setPreview(undefined);
    try {
      const body = definitionOf(draft);
      const response = await props.api.post(
        `/api/v1/policies/${body.name === "" ? "unnamed" : body.name}/preview`,
        body,
      );
      setPreview((await response.json()) as PolicyPreview);
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  const text = (key: keyof Draft, label: string, hint = "", disabled = false) => (
    <label>
      {label}
      <input
        type="text"
        value={draft[key] as string}
        disabled={disabled}
        placeholder={hint}
        onInput={(event) => set(key, event.currentTarget.value as never)}
      />
    </label>
  );

  return (
    <form
      class="policy-editor"
      aria-label={props.existing === undefined ? "New policy" : `Edit ${draft.name}`}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      {text("name", "Name", "evening-logoff", props.existing !== undefined)}
      {text("description", "Description")}
      <fieldset>
        <legend>Hosts</legend>
        <label>
          Which hosts
          <select
            value={draft.hostsKind}
            onChange={(event) => set("hostsKind", event.currentTarget.value as Draft["hostsKind"])}
          >
            <option value="all">every host</option>
            <option value="list">a list</option>
            <option value="pattern">a name pattern</option>
          </select>
        </label>
        {draft.hostsKind !== "all" &&
          text(
            "hostsText",
            draft.hostsKind === "list" ? "Host names (comma list)" : "Host name pattern",
            draft.hostsKind === "list"
              ? "ws1.lab.example.com, ws2.lab.example.com"
              : "ws*.lab.example.com",
          )}
      </fieldset>
      <fieldset>
        <legend>Sessions</legend>
        {STATES.map((state) => (
          <label key={state} class="check">
            <input
              type="checkbox"
              checked={draft.states.includes(state)}
              onChange={(event) =>
                set(
                  "states",
                  event.currentTarget.checked
                    ? [...draft.states, state]
                    : draft.states.filter((s) => s !== state),
                )
              }
            />
            {state}
          </label>
        ))}
        {text("user", "User pattern", "LAB\\*")}
        {text("minIdle", "Idle at least", "30m")}
        {text("disconnectedFor", "Disconnected for at least", "2h")}
        {text("exemptUsers", "Exempt users (comma list)", "LAB\\teacher*")}
        {text("exemptGroups", "Exempt groups (comma list)", "LAB\\Teachers")}
      </fieldset>
      <fieldset>
        <legend>Action</legend>
        <label>
          Action
          <select
            value={draft.action}
            onChange={(event) => set("action", event.currentTarget.value as Draft["action"])}
          >
            <option value="logoff">log off</option>
            <option value="disconnect">disconnect</option>
          </select>
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={draft.warn}
            onChange={(event) => set("warn", event.currentTarget.checked)}
          />
          Warn first
        </label>
        {draft.warn && text("warningText", "Warning text", "You are logged off in 5 minutes")}
        {draft.warn && text("grace", "Grace period", "5m")}
      </fieldset>
      <fieldset>
        <legend>Schedule</legend>
        <label>
          Schedule
          <select
            value={draft.scheduleKind}
            onChange={(event) =>
              set("scheduleKind", event.currentTarget.value as Draft["scheduleKind"])
            }
          >
            <option value="every">every</option>
            <option value="cron">cron</option>
          </select>
        </label>
        {text(
          "scheduleText",
          draft.scheduleKind === "cron" ? "Cron expression" : "Interval",
          draft.scheduleKind === "cron" ? "30 17 * * 1-5" : "15m",
        )}
        <label class="check">
          <input
            type="checkbox"
            checked={draft.enabled}
            onChange={(event) => set("enabled", event.currentTarget.checked)}
          />
          Enabled
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={draft.dryRun}
            onChange={(event) => set("dryRun", event.currentTarget.checked)}
          />
          Dry run (only ask what the agents would do)
        </label>
      </fieldset>
      {problem !== undefined && <ProblemBanner doing="Saving the policy" problem={problem} />}
      <div class="buttons">
        <button type="button" class="button" disabled={busy} onClick={() => void runPreview()}>
          Preview
        </button>
        {props.canEdit && (
          <button type="submit" class="button primary" disabled={busy}>
            Save
          </button>
        )}
        <button type="button" class="button" onClick={props.onCancel}>
          Close
        </button>
      </div>
      {preview !== undefined && (
        <section aria-label="Preview">
          <p role="status">
            Preview at {formatTime(Date.parse(preview.time))}: nothing has been done.
          </p>
          <HostResults hosts={preview.hosts} label="Preview by host" />
        </section>
      )}
    </form>
  );
}

/** The policies page. */
export function PoliciesPage(props: {
  readonly api: ApiClient;
  readonly canEdit: boolean;
}): JSX.Element {
  const [policies, setPolicies] = useState<readonly ApiPolicy[]>([]);
  const [problem, setProblem] = useState<unknown>(undefined);
  const [editing, setEditing] = useState<ApiPolicy | "new" | undefined>(undefined);
  const [shown, setShown] = useState<string | undefined>(undefined);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    props.api
      .get<PolicyList>("/api/v1/policies", {}, controller.signal)
      .then((answer) => {
        setPolicies(answer.policies);
        setProblem(undefined);
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setProblem(error);
      });
    return () => controller.abort();
  }, [version]);

  const toggle = async (policy: ApiPolicy) => {
    try {
      await props.api.request(`/api/v1/policies/${policy.definition.name}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          ...policy.definition,
          enabled: !(policy.definition.enabled ?? false),
        }),
      });
      setVersion(version + 1);
    } catch (error) {
      setProblem(error);
    }
  };

  return (
    <section aria-labelledby="policies-title">
      <h1 id="policies-title">Policies</h1>
      {problem !== undefined && (
        <ProblemBanner
          doing="Loading the policies"
          problem={problem}
          onRetry={() => setVersion(version + 1)}
        />
      )}
      {props.canEdit && editing === undefined && (
        <button type="button" class="button primary" onClick={() => setEditing("new")}>
          New policy
        </button>
      )}
      {editing !== undefined && (
        <Editor
          key={editing === "new" ? "new" : editing.definition.name}
          api={props.api}
          existing={editing === "new" ? undefined : editing}
          canEdit={props.canEdit}
          onSaved={(policy) => {
            setEditing(undefined);
            setShown(policy.definition.name);
            setVersion(version + 1);
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Policies, scrollable">
        <table class="table" aria-label="Policies">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">What</th>
              <th scope="col">When</th>
              <th scope="col">Next</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {policies.map((policy) => {
              const d = policy.definition;
              return (
                <tr key={d.name}>
                  <td>
                    <button type="button" class="link" onClick={() => setShown(d.name)}>
                      {d.name}
                    </button>
                  </td>
                  <td class="wrap">{describe(d)}</td>
                  <td>{scheduleText(d)}</td>
                  <td>
                    {policy.nextDueAt === null ? "—" : formatTime(Date.parse(policy.nextDueAt))}
                  </td>
                  <td>
                    {d.enabled === true ? "enabled" : "disabled"}
                    {d.dryRun === true ? " (dry run)" : ""}
                    {policy.running ? ", running" : ""}
                  </td>
                  <td>
                    <button type="button" class="button small" onClick={() => setEditing(policy)}>
                      {props.canEdit ? "Edit" : "View"}
                    </button>{" "}
                    {props.canEdit && (
                      <button
                        type="button"
                        class="button small"
                        onClick={() => void toggle(policy)}
                      >
                        {d.enabled === true ? `Disable ${d.name}` : `Enable ${d.name}`}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
            {policies.length === 0 && problem === undefined && (
              <tr>
                <td colSpan={6}>No policy yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {shown !== undefined && (
        <>
          <h2>{shown}</h2>
          <button type="button" class="button small" onClick={() => setVersion(version + 1)}>
            Refresh runs
          </button>
          <Runs api={props.api} name={shown} version={version} />
        </>
      )}
    </section>
  );
}
