/**
 * The cells of `wmsctl get`'s table that say more than their field: idle time, known or not.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatSeconds, idleCell } from "../../controller/cli/table.js";

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
