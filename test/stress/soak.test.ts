/**
 * A short soak (0.2 minutes): mixed calls from many clients against real agents in their own
 * process, under mutual TLS; no call fails, and neither side grows in memory or open handles.
 * `npm run soak -- --minutes N` runs the same for longer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatSoak, runSoak } from "../../bench/soak.js";

void describe("soak", () => {
  void it("runs mixed calls from many clients without errors or growth", async () => {
    const summary = await runSoak({ minutes: 0.2, agents: 4, clients: 8 });
    assert.ok(summary.calls > 0, "calls were made");
    assert.equal(summary.errors, 0, formatSoak(summary));
    assert.deepEqual(summary.failures, [], formatSoak(summary));
  });
});
