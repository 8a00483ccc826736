/**
 * Where the service says what went wrong before its log file is open (koffi not loading, the
 * dispatcher failing, the log folder not writable): the SCM discards a service's standard error,
 * so the message goes to the Windows Event Log (Application log, source = the service's name,
 * event {@link SERVICE_START_FAILED_EVENT_ID}, `ReportEventW`), and when that cannot be written
 * (koffi itself failed to load, say), appended to a fallback file beside the service's log.
 * The SCM adds its own events to the System log (docs/windows.md lists them).
 */
import { appendFile, mkdir } from "node:fs/promises";
import { win32 } from "node:path";

/** The event id of "the service could not start" in the Application log. */
export const SERVICE_START_FAILED_EVENT_ID = 1;
/** The fallback file's name, in the folder of the service's log. */
export const EARLY_ERRORS_FILE = "service-errors.log";
const EVENTLOG_ERROR_TYPE = 1;

/** Writes one error event; rejects when it cannot. */
export type EventLogWriter = (source: string, eventId: number, message: string) => Promise<void>;

/** Where an early error went. */
export type EarlyErrorDestination = "event-log" | "file" | "nowhere";

/** Options of {@link reportEarlyError}. */
export interface EarlyErrorOptions {
  /** @default {@link writeWindowsEvent} */
  readonly writeEvent?: EventLogWriter;
  /** @default `fs.promises.appendFile` after creating the folder */
  readonly appendLine?: (file: string, line: string) => Promise<void>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Reports an error of the service that happened before its log was open: to the Event Log, else
 * to `fallbackFile`. Never rejects: it says where the message went.
 */
export async function reportEarlyError(
  source: string,
  message: string,
  fallbackFile: string,
  options: EarlyErrorOptions = {},
): Promise<EarlyErrorDestination> {
  const writeEvent = options.writeEvent ?? writeWindowsEvent;
  const appendLine = options.appendLine ?? appendWithFolder;
  const now = options.now ?? (() => new Date());
  let eventError: unknown;
  try {
    await writeEvent(source, SERVICE_START_FAILED_EVENT_ID, message);
    return "event-log";
  } catch (error) {
    eventError = error;
  }
  try {
    const why = eventError instanceof Error ? eventError.message : String(eventError);
    await appendLine(
      fallbackFile,
      `${JSON.stringify({ time: now().toISOString(), service: source, error: message, eventLog: `not written: ${why}` })}\n`,
    );
    return "file";
  } catch {
    return "nowhere";
  }
}

/** The fallback file for a service whose log is `logFile`. */
export function earlyErrorsFile(logFile: string): string {
  return win32.join(win32.dirname(logFile), EARLY_ERRORS_FILE);
}

/** `RegisterEventSourceW` + `ReportEventW` (an error) + `DeregisterEventSource`, through koffi. */
export async function writeWindowsEvent(
  source: string,
  eventId: number,
  message: string,
): Promise<void> {
  const { loadAdvapi32 } = await import("../../common/native/advapi32.js");
  const api = await loadAdvapi32();
  const handle: unknown = api.RegisterEventSourceW(null, source);
  if (handle === null) throw new Error("RegisterEventSourceW failed");
  try {
    const ok = api.ReportEventW(
      handle,
      EVENTLOG_ERROR_TYPE,
      0,
      eventId,
      null,
      1,
      0,
      [message],
      null,
    ) as number;
    if (ok === 0) throw new Error("ReportEventW failed");
  } finally {
    api.DeregisterEventSource(handle);
  }
}

async function appendWithFolder(file: string, line: string): Promise<void> {
  await mkdir(win32.dirname(file), { recursive: true });
  await appendFile(file, line);
}
