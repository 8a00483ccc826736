import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Win32, win32ErrorMeaning } from "../../agent/sessions/win32-errors.js";
import { Outcome } from "../../proto/gen/wms/v1/wms_session.js";

void describe("Win32 error codes", () => {
  void it("carry their documented values", () => {
    assert.deepEqual(Win32, {
      ERROR_FILE_NOT_FOUND: 2,
      ERROR_ACCESS_DENIED: 5,
      RPC_S_SERVER_UNAVAILABLE: 1722,
      ERROR_TIMEOUT: 1460,
      ERROR_CTX_WINSTATION_BUSY: 7024,
      ERROR_CTX_WINSTATION_NOT_FOUND: 7022,
      ERROR_CTX_CLOSE_PENDING: 7007,
      ERROR_CTX_WINSTATION_ACCESS_DENIED: 7045,
    });
  });
});

void describe("win32ErrorMeaning (DESIGN section 4)", () => {
  void it("1460: the agent stopped waiting for Remote Desktop Services, which may be hung", () => {
    const meaning = win32ErrorMeaning(Win32.ERROR_TIMEOUT);
    assert.equal(meaning.outcome, Outcome.FAILED);
    assert.equal(meaning.backendUnavailable, true);
    assert.equal(meaning.retryable, true);
    assert.match(meaning.message, /did not answer in time and may be hung/);
  });

  void it("maps 7022 (no such WinStation) to NOT_FOUND", () => {
    assert.deepEqual(win32ErrorMeaning(7022), {
      outcome: Outcome.NOT_FOUND,
      message: "the session does not exist (7022)",
      retryable: false,
      backendUnavailable: false,
    });
  });

  void it("maps 2 (the session vanished mid-operation) to NOT_FOUND", () => {
    assert.deepEqual(win32ErrorMeaning(2), {
      outcome: Outcome.NOT_FOUND,
      message: "the session ended during the operation (2)",
      retryable: false,
      backendUnavailable: false,
    });
  });

  void it("maps 5 and 7045 (access denied) to FAILED, not retryable", () => {
    assert.deepEqual(win32ErrorMeaning(5), {
      outcome: Outcome.FAILED,
      message: "access denied (5)",
      retryable: false,
      backendUnavailable: false,
    });
    assert.deepEqual(win32ErrorMeaning(7045), {
      outcome: Outcome.FAILED,
      message: "access to the session denied (7045)",
      retryable: false,
      backendUnavailable: false,
    });
  });

  void it("maps 7007 and 7024 (busy) to FAILED, retryable", () => {
    assert.deepEqual(win32ErrorMeaning(7007), {
      outcome: Outcome.FAILED,
      message: "the session is closing; retry later (7007)",
      retryable: true,
      backendUnavailable: false,
    });
    assert.deepEqual(win32ErrorMeaning(7024), {
      outcome: Outcome.FAILED,
      message: "the session is busy; retry later (7024)",
      retryable: true,
      backendUnavailable: false,
    });
  });

  void it("maps 1722 (RPC server unavailable) to an unavailable backend", () => {
    assert.deepEqual(win32ErrorMeaning(1722), {
      outcome: Outcome.FAILED,
      message: "Remote Desktop Services is unavailable (1722)",
      retryable: false,
      backendUnavailable: true,
    });
  });

  void it("maps any other code to FAILED with the code in the message", () => {
    for (const code of [0, 1, 6, 87, 1314, 7021, 7046, 0xffffffff]) {
      assert.deepEqual(
        win32ErrorMeaning(code),
        {
          outcome: Outcome.FAILED,
          message: `the operating system refused (Win32 error ${code})`,
          retryable: false,
          backendUnavailable: false,
        },
        `code ${code}`,
      );
    }
  });

  void it("names the code in every known message", () => {
    for (const code of Object.values(Win32)) {
      assert.match(win32ErrorMeaning(code).message, new RegExp(`\\(${code}\\)$`));
    }
  });
});
