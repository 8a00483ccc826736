/**
 * The fan-out keeps one clock, the controller's `now`: a host's deadline and its duration are both
 * measured on it. Here the clock is a test's, moved by hand inside the retry delay; the host is a
 * closed port (refused at once, `UNAVAILABLE`, retried).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { createController } from "../../controller/index.js";
import { closedTarget } from "../helpers/controller-fleet.js";

void describe("fan-out clock", () => {
  void it("measures the deadline on the injected clock, not the wall clock", async () => {
    let clock = 1_000;
    const controller = createController({
      credentials: credentials.createInsecure(),
      timeoutMs: 10_000,
      retries: 5,
      now: () => clock,
      random: () => 0.5,
      // The first retry's backoff takes 20 s on the controller's clock and none on the wall's.
      delay: () => {
        clock += 20_000;
        return Promise.resolve();
      },
    });
    try {
      const results = [];
      for await (const result of controller.getAgentInfo([
        await closedTarget("closed.example.com"),
      ])) {
        results.push(result);
      }
      assert.equal(results.length, 1);
      const [result] = results;
      assert.equal(result?.status, "unreachable");
      // Past its deadline after the first backoff: no second call, no reconnect wait, and the
      // duration is the controller's clock's.
      assert.equal(result.attempts, 2);
      assert.equal(result.durationMs, 20_000);
    } finally {
      controller.close();
    }
  });
});
