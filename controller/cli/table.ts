/**
 * Plain-text tables and the PowerShell-style what-if line, for `-o table`.
 */
import { Outcome } from "../../proto/gen/wms/v1/wms_session.js";
import { outcomeName, type HostReport, type ResultView, type SessionView } from "./report.js";

/** Formats rows under a header, columns padded to their widest cell, two spaces apart. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** `1h02m`, `45s`, `3d04h`: idle times at a glance. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return "";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
  if (seconds < 86_400) {
    return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}m`;
  }
  return `${Math.floor(seconds / 86_400)}d${String(Math.floor(seconds / 3600) % 24).padStart(2, "0")}h`;
}

/**
 * The IDLE cell: the idle time; `unknown` for a session with a user whose input the host does not
 * track (the console, MultiPoint stations: issue 17), which no idle filter ever matches; empty
 * for a session nobody is logged on to.
 */
export function idleCell(session: Pick<SessionView, "userName" | "idleSeconds">): string {
  if (session.idleSeconds !== null) return formatSeconds(session.idleSeconds);
  return session.userName === "" ? "" : "unknown";
}

/** `session 5 (alice, Station 3) on h1.lab.example.com`, the target of a what-if or a prompt. */
export function sessionTarget(
  host: string,
  result: Pick<ResultView, "sessionId" | "userName" | "stationName">,
): string {
  const details = [result.userName, result.stationName].filter((part) => part !== "");
  const about = details.length === 0 ? "" : ` (${details.join(", ")})`;
  return `session ${result.sessionId}${about} on ${host}`;
}

/**
 * The table of `wmsctl get`, with a NOTE column when the agent could not read a session whole
 * (what it could not learn, and why: its other cells are then empty or `unknown` for that
 * reason, not because the session is empty).
 */
export function sessionsTable(reports: readonly HostReport[]): string {
  const sessions = reports.flatMap((report) => report.sessions ?? []);
  const notes = sessions.some((s) => s.note !== undefined);
  const rows = reports.flatMap((report) =>
    (report.sessions ?? []).map((s) => [
      report.host,
      String(s.sessionId),
      s.state,
      s.userName === "" ? "" : s.domainName === "" ? s.userName : `${s.domainName}\\${s.userName}`,
      s.stationName,
      s.clientName,
      idleCell(s),
      s.protection === "NONE" ? "" : s.protection,
      ...(notes ? [s.note ?? ""] : []),
    ]),
  );
  return formatTable(
    [
      "HOST",
      "ID",
      "STATE",
      "USER",
      "STATION",
      "CLIENT",
      "IDLE",
      "PROTECTED",
      ...(notes ? ["NOTE"] : []),
    ],
    rows,
  );
}

/** The operation a what-if outcome stands for, as PowerShell names it in its what-if lines. */
const WHAT_IF_OPERATIONS: ReadonlyMap<string, string> = new Map([
  [outcomeName(Outcome.WOULD_DISCONNECT), "Disconnect"],
  [outcomeName(Outcome.WOULD_LOG_OFF), "Log off"],
  [outcomeName(Outcome.WOULD_SEND_MESSAGE), "Send message"],
]);

/**
 * `What if: Performing the operation "Disconnect" on target "…".` for a what-if result;
 * undefined for any other.
 */
export function whatIfLine(host: string, result: ResultView): string | undefined {
  const operation = WHAT_IF_OPERATIONS.get(result.outcome);
  return operation === undefined
    ? undefined
    : `What if: Performing the operation "${operation}" on target "${sessionTarget(host, result)}".`;
}

/** The warning's fate in one session, for the WARNING column: `shown`, or why not. */
function warningCell(report: HostReport, sessionId: number): string {
  const warning = report.warnings?.find((w) => w.sessionId === sessionId);
  if (warning === undefined) return "";
  return warning.outcome === outcomeName(Outcome.MESSAGE_SENT) ? "shown" : warning.outcome;
}

/**
 * The table of `disconnect`, `logoff` and `message`: a what-if line for each session that would
 * be acted on (the warnings' first, with `--warn`), then a row for every other result, with a
 * RESPONSE column when users answered and a WARNING column when they were warned.
 */
export function resultsTable(reports: readonly HostReport[]): string {
  const whatIf: string[] = [];
  const rows: string[][] = [];
  const responses = reports.some((r) => r.results?.some((x) => x.response !== undefined));
  const warned = reports.some((r) => r.warnings !== undefined);
  for (const report of reports) {
    for (const warning of report.warnings ?? []) {
      const line = whatIfLine(report.host, warning);
      if (line !== undefined) whatIf.push(line);
    }
    for (const result of report.results ?? []) {
      const line = whatIfLine(report.host, result);
      if (line !== undefined) {
        whatIf.push(line);
        continue;
      }
      rows.push([
        report.host,
        String(result.sessionId),
        result.userName,
        result.stationName,
        result.outcome,
        ...(responses ? [result.response ?? ""] : []),
        ...(warned ? [warningCell(report, result.sessionId)] : []),
        result.message,
      ]);
    }
  }
  const text = whatIf.map((line) => `${line}\n`).join("");
  if (rows.length === 0) return text;
  const table = formatTable(
    [
      "HOST",
      "ID",
      "USER",
      "STATION",
      "OUTCOME",
      ...(responses ? ["RESPONSE"] : []),
      ...(warned ? ["WARNING"] : []),
      "MESSAGE",
    ],
    rows,
  );
  return text === "" ? table : `${text}\n${table}`;
}

/** The table of `wmsctl health`. */
export function healthTable(reports: readonly HostReport[]): string {
  const rows = reports.map((report) => [
    report.host,
    report.status,
    report.health ?? "",
    report.agent?.version ?? "",
    report.agent?.backend ?? "",
    report.agent === undefined ? "" : String(report.agent.agentSessionId),
    report.agent?.startTime ?? "",
    `${report.durationMs}ms`,
  ]);
  return formatTable(
    ["HOST", "STATUS", "HEALTH", "VERSION", "BACKEND", "AGENT SESSION", "STARTED", "TIME"],
    rows,
  );
}
