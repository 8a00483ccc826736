/**
 * The cells of `wmsctl get`'s table that say more than their field: idle time, known or not, and
 * the note of a session the agent could not read whole.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Session, SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import type { HostReport } from "../../controller/cli/report.js";
import { sessionView } from "../../controller/cli/report.js";
import { formatSeconds, idleCell, sessionsTable } from "../../controller/cli/table.js";

void describe("idleCell", () => {
  void it("prints a known idle time at a glance", () => {
    assert.equal(idleCell({ userName: "teacher", idleSeconds: 1870 }), "31m10s");
    assert.equal(idleCell({ userName: "teacher", idleSeconds: 0 }), "0s");
    assert.equal(formatSeconds(3 * 86_400 + 4 * 3600), "3d04h");
  });

  void it("says unknown for a user whose input the host does not track (the console)", () => {
    assert.equal(idleCell({ userName: "zoë", idleSeconds: null }), "unknown");
  });

  void it("leaves the cell empty for a session nobody is logged on to", () => {
    assert.equal(idleCell({ userName: "", idleSeconds: null }), "");
  });
});

void describe("a session the agent could not read whole", () => {
  const whole = Session.fromPartial({
    sessionId: 5,
    state: SessionState.ACTIVE,
    userName: "józef",
    stationName: "Station 4",
  });
  const degraded = Session.fromPartial({
    sessionId: 13,
    state: SessionState.ACTIVE,
    stationName: "RDP-Tcp#13",
    note: "details unknown: WTSQuerySessionInformationW failed: access denied (5)",
  });
  const report = (sessions: Session[]): HostReport => ({
    host: "h1.lab.example.com",
    address: "127.0.0.1:50061",
    status: "ok",
    durationMs: 1,
    attempts: 1,
    sessions: sessions.map((s) => sessionView(s, 0)),
  });

  void it("carries its note in json, and no note key for a session read whole", () => {
    assert.equal(sessionView(degraded, 0).note, degraded.note);
    assert.equal("note" in sessionView(whole, 0), false);
  });

  void it("carries the user's groups in json, null when the agent does not know them", () => {
    const member = Session.fromPartial({
      ...whole,
      groups: ["LAB\\Staff", "LAB\\Teachers"],
      groupsKnown: true,
    });
    assert.deepEqual(sessionView(member, 0).groups, ["LAB\\Staff", "LAB\\Teachers"]);
    assert.equal(sessionView(whole, 0).groups, null);
    assert.equal(sessionView(degraded, 0).groups, null);
  });

  void it("gets a NOTE column in the table, only when a session has a note", () => {
    const [header, first, second] = sessionsTable([report([whole, degraded])]).split("\n");
    assert.match(header ?? "", /PROTECTED {2}NOTE$/);
    assert.match(first ?? "", /Station 4 +unknown$/);
    assert.match(second ?? "", /RDP-Tcp#13 +details unknown: WTSQuery/);
    assert.doesNotMatch(sessionsTable([report([whole])]), /NOTE/);
  });
});
