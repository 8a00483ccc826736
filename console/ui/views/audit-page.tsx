/** The console's audit trail, newest first, filtered by person, action and host, a page at a time. */
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { AuditPage as AuditPageBody, AuditRecord } from "../../api/types.js";
import type { ApiClient } from "../api/client.js";
import { AUDIT_HOSTS_SHOWN, shortAuditDetail, auditRecordKind } from "../audit-record.js";
import { Abridged } from "../components/abridged.js";
import { OlderButton } from "../components/older-button.js";
import { ProblemBanner } from "../components/problem.js";
import { formatTime } from "../format.js";
import { usePagedList } from "../hooks.js";

/** The filter of the trail. */
interface AuditFilter {
  readonly actor: string;
  readonly action: string;
  readonly host: string;
}

/** A record's hosts: all of them when few, else the first few and how many more. */
function HostsCell(props: { readonly record: AuditRecord }): JSX.Element {
  const { hosts, id } = props.record;
  if (hosts.length <= AUDIT_HOSTS_SHOWN) return <>{hosts.join(", ")}</>;
  const short = (
    <>
      {hosts.slice(0, AUDIT_HOSTS_SHOWN).join(", ")}{" "}
      <span class="more">+{hosts.length - AUDIT_HOSTS_SHOWN} more</span>
    </>
  );
  return (
    <Abridged short={short} wholeLabel={`All ${hosts.length} hosts of record ${id}`}>
      {hosts.join(", ")}
    </Abridged>
  );
}

/** A record's detail: each value in short, the whole detail behind the disclosure if one is cut. */
function DetailCell(props: { readonly record: AuditRecord }): JSX.Element {
  const { short, entries, cut } = shortAuditDetail(props.record.detail);
  if (!cut) return <>{short}</>;
  return (
    <Abridged short={short} wholeLabel={`The whole detail of record ${props.record.id}`}>
      <ul>
        {entries.map(([key, text]) => (
          <li key={key}>
            {key}: {text}
          </li>
        ))}
      </ul>
    </Abridged>
  );
}

/** The trail as a table, with filters unless `fixed` sets them (a host's page). */
export function AuditTable(props: {
  readonly api: ApiClient;
  readonly fixed?: Partial<AuditFilter>;
  readonly pageSize?: number;
}): JSX.Element {
  const [draft, setDraft] = useState<AuditFilter>({
    actor: "",
    action: "",
    host: "",
    ...props.fixed,
  });
  const [filter, setFilter] = useState<AuditFilter>(draft);
  const pageSize = props.pageSize ?? 100;
  const trail = usePagedList<AuditRecord, number>(
    async (before, signal) => {
      const page = await props.api.get<AuditPageBody>(
        "/api/v1/audit",
        { ...filter, limit: pageSize, before },
        signal,
      );
      return { items: page.records, next: page.next };
    },
    [filter, pageSize],
  );
  const { items: records, next, loading, problem } = trail;

  const field = (key: keyof AuditFilter, label: string, placeholder: string) =>
    props.fixed?.[key] === undefined && (
      <label>
        {label}
        <input
          type="search"
          value={draft[key]}
          placeholder={placeholder}
          onInput={(event) => setDraft({ ...draft, [key]: event.currentTarget.value })}
        />
      </label>
    );

  return (
    <div class="audit">
      {(props.fixed === undefined || Object.keys(props.fixed).length < 3) && (
        <form
          class="filters"
          role="search"
          aria-label="Filter the audit trail"
          onSubmit={(event) => {
            event.preventDefault();
            setFilter({
              actor: draft.actor.trim(),
              action: draft.action.trim(),
              host: draft.host.trim(),
            });
          }}
        >
          {field("actor", "Person", "user name")}
          {field("action", "Action", "login, action.intent…")}
          {field("host", "Host", "FQDN")}
          <button type="submit" class="button small">
            Filter
          </button>
        </form>
      )}
      {problem !== undefined && (
        <ProblemBanner doing="Loading the audit trail" problem={problem} onRetry={trail.retry} />
      )}
      {/* It scrolls sideways on a narrow screen: the keyboard can reach it. */}
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit trail, scrollable">
        <table class="table" aria-label="Audit trail" aria-busy={loading ? "true" : "false"}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Person</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Hosts</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {records.map((record) => (
              <tr key={record.id} class={auditRecordKind(record) === "bad" ? "row-bad" : undefined}>
                <td>
                  <time dateTime={record.time}>{formatTime(Date.parse(record.time))}</time>
                </td>
                <td>
                  {record.actor} <span class="muted">({record.auth})</span>
                </td>
                <td>{record.action}</td>
                <td>{record.outcome}</td>
                <td class="wrap">
                  <HostsCell record={record} />
                </td>
                <td class="wrap muted">
                  <DetailCell record={record} />
                </td>
              </tr>
            ))}
            {!loading && records.length === 0 && problem === undefined && (
              <tr>
                <td colSpan={6}>No record matches.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {next !== undefined && (
        <OlderButton label="Older records" loading={loading} onOlder={trail.loadOlder} />
      )}
    </div>
  );
}

/** The audit page. */
export function AuditPage(props: { readonly api: ApiClient }): JSX.Element {
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit trail</h1>
      <AuditTable api={props.api} />
    </section>
  );
}
