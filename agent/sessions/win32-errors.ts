/**
 * How Win32 error codes from the session manager become outcomes (DESIGN section 4). Both backends
 * throw `Win32Error`; this is the one place that decides what each code means.
 */
import { Outcome } from "../../proto/gen/wms/v1/wms_session.js";

/** Well-known Win32 error codes met when disconnecting sessions. */
export const Win32 = {
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  RPC_S_SERVER_UNAVAILABLE: 1722,
  /** Not from Windows itself: the agent stopped waiting for a native call (see wts.ts). */
  ERROR_TIMEOUT: 1460,
  ERROR_CTX_WINSTATION_BUSY: 7024,
  ERROR_CTX_WINSTATION_NOT_FOUND: 7022,
  ERROR_CTX_CLOSE_PENDING: 7007,
  ERROR_CTX_WINSTATION_ACCESS_DENIED: 7045,
} as const;

/** What one Win32 error means for one session or for the whole backend. */
export interface Win32ErrorMeaning {
  /** The outcome of the session the error came from. */
  readonly outcome: Outcome.NOT_FOUND | Outcome.FAILED;
  /** A short, human-readable explanation. */
  readonly message: string;
  /** The same request may succeed later (the WinStation was busy). */
  readonly retryable: boolean;
  /** The session manager itself cannot be reached: the backend is unhealthy. */
  readonly backendUnavailable: boolean;
}

const KNOWN: ReadonlyMap<number, Win32ErrorMeaning> = new Map([
  [
    Win32.ERROR_CTX_WINSTATION_NOT_FOUND,
    meaning(Outcome.NOT_FOUND, "the session does not exist (7022)"),
  ],
  [
    Win32.ERROR_FILE_NOT_FOUND,
    meaning(Outcome.NOT_FOUND, "the session ended during the operation (2)"),
  ],
  [Win32.ERROR_ACCESS_DENIED, meaning(Outcome.FAILED, "access denied (5)")],
  [
    Win32.ERROR_CTX_WINSTATION_ACCESS_DENIED,
    meaning(Outcome.FAILED, "access to the session denied (7045)"),
  ],
  [
    Win32.ERROR_CTX_CLOSE_PENDING,
    meaning(Outcome.FAILED, "the session is closing; retry later (7007)", { retryable: true }),
  ],
  [
    Win32.ERROR_CTX_WINSTATION_BUSY,
    meaning(Outcome.FAILED, "the session is busy; retry later (7024)", { retryable: true }),
  ],
  [
    Win32.ERROR_TIMEOUT,
    meaning(
      Outcome.FAILED,
      "Remote Desktop Services did not answer in time and may be hung; the call may still complete (1460)",
      { retryable: true, backendUnavailable: true },
    ),
  ],
  [
    Win32.RPC_S_SERVER_UNAVAILABLE,
    meaning(Outcome.FAILED, "Remote Desktop Services is unavailable (1722)", {
      backendUnavailable: true,
    }),
  ],
]);

/** Maps a Win32 error code to its meaning; unknown codes are `FAILED`, not retryable. */
export function win32ErrorMeaning(code: number): Win32ErrorMeaning {
  return (
    KNOWN.get(code) ?? meaning(Outcome.FAILED, `the operating system refused (Win32 error ${code})`)
  );
}

function meaning(
  outcome: Outcome.NOT_FOUND | Outcome.FAILED,
  message: string,
  flags: { retryable?: boolean; backendUnavailable?: boolean } = {},
): Win32ErrorMeaning {
  return {
    outcome,
    message,
    retryable: flags.retryable ?? false,
    backendUnavailable: flags.backendUnavailable ?? false,
  };
}
