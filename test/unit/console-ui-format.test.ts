/** How the web UI reads and writes durations (console/ui/format.ts). */
import assert from "node:assert/strict";
import { it } from "node:test";
import { formatDuration, parseDuration, plural } from "../../console/ui/format.js";

it("reads durations as people type them, and says what is wrong with one it cannot read", () => {
  assert.deepEqual(parseDuration("15m"), { ms: 900_000 });
  assert.deepEqual(parseDuration("1h30m"), { ms: 5_400_000 });
  assert.deepEqual(parseDuration(" 90s "), { ms: 90_000 });
  assert.deepEqual(parseDuration("20"), { ms: 1_200_000 }, "a bare number is minutes");
  assert.deepEqual(parseDuration(""), { ms: 0 });
  for (const bad of ["15x", "m", "1h 30", "-5m", "1.5h"]) {
    const parsed = parseDuration(bad);
    assert.ok("error" in parsed, bad);
    assert.match(parsed.error, /is not a duration: write it as 15m, 1h30m, 90s or minutes alone/);
  }
});

it("writes durations to the second below an hour, and counts with the right noun", () => {
  assert.equal(formatDuration(undefined), "—");
  assert.equal(formatDuration(35_400), "35s");
  assert.equal(formatDuration(250_000), "4m 10s");
  assert.equal(formatDuration(7_500_000), "2h 05m");
  assert.equal(formatDuration(90_000_000), "1d 01h");
  assert.equal(plural(1, "session"), "1 session");
  assert.equal(plural(1234, "host"), "1,234 hosts");
});
