/**
 * Errors of `wms-agent service run` before its log is open: the Event Log first, a fallback file
 * when the Event Log cannot be written (koffi itself did not load), never an exception. The real
 * `ReportEventW` is Windows' (Wine's only traces it).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  SERVICE_START_FAILED_EVENT_ID,
  earlyErrorsFile,
  reportEarlyError,
} from "../../agent/windows-service/event-log.js";

describe("errors before the service's log is open", () => {
  it("go to the Event Log as an error of the service's source", async () => {
    const events: unknown[][] = [];
    const where = await reportEarlyError("wms-agent", "koffi failed", "unused", {
      writeEvent: (...event) => (events.push(event), Promise.resolve()),
    });
    assert.equal(where, "event-log");
    assert.deepEqual(events, [["wms-agent", SERVICE_START_FAILED_EVENT_ID, "koffi failed"]]);
  });

  it("go to a file beside the log when the Event Log cannot be written, with why", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "wms-early-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "logs", "service-errors.log");
    const where = await reportEarlyError("wms-agent", "koffi failed", file, {
      writeEvent: () => Promise.reject(new Error("koffi: cannot load advapi32.dll")),
      now: () => new Date("2026-11-30T18:00:00Z"),
    });
    assert.equal(where, "file");
    assert.equal(
      await readFile(file, "utf8"),
      '{"time":"2026-11-30T18:00:00.000Z","service":"wms-agent","error":"koffi failed","eventLog":"not written: koffi: cannot load advapi32.dll"}\n',
    );
  });

  it("say so, and do not throw, when neither can be written", async () => {
    const where = await reportEarlyError("wms-agent", "x", "unused", {
      writeEvent: () => Promise.reject(new Error("no")),
      appendLine: () => Promise.reject(new Error("read-only")),
    });
    assert.equal(where, "nowhere");
  });

  it("the fallback file is beside the service's log", () => {
    assert.equal(
      earlyErrorsFile("C:\\ProgramData\\wmsfleet\\logs\\agent.log"),
      "C:\\ProgramData\\wmsfleet\\logs\\service-errors.log",
    );
  });
});
