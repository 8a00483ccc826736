/**
 * `wmsctl watch` on a real pseudo-terminal: the live table (redrawn in place, the cursor hidden
 * while it runs and shown again after), and Ctrl-C typed on the terminal ending it with 130.
 * Node has no pty of its own; Python's standard `pty` module drives it (the test is skipped where
 * `python3` is missing).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { WMSCTL_BIN } from "../helpers/commands.js";
import { spawnAgent, type SpawnedAgent } from "../helpers/controller-spawn.js";
import { CTRL_C, HAS_PTY, runOnPty } from "../helpers/pty.js";

void describe("wmsctl watch on a pseudo-terminal", { skip: !HAS_PTY && "python3 missing" }, () => {
  let agent: SpawnedAgent;
  before(async () => {
    agent = await spawnAgent("pty-watch.lab.example.com");
  });
  after(() => agent.stop());

  void it("draws the live table and ends on Ctrl-C with 130", async () => {
    const argv = [
      process.execPath,
      WMSCTL_BIN,
      "watch",
      "-s",
      agent.fqdn,
      "--insecure-loopback",
      agent.resolve,
    ];
    // Ctrl-C once a session's row is drawn, on a 40×120 terminal.
    const { status, output } = await runOnPty(argv, [{ after: "józef.nowak", keys: CTRL_C }], {
      rows: 40,
      columns: 120,
    });
    assert.equal(status, 130, output);
    assert.ok(output.includes("\x1b[?25l"), "the cursor is hidden while the table runs");
    assert.match(output, /1 host: 1 connected · 19 sessions · /);
    assert.match(output, /HOST\s+ID\s+STATE\s+USER\s+STATION\s+CLIENT\s+IDLE\s+LOCKED/);
    assert.match(
      output,
      /pty-watch\.lab\.example\.com\s+5\s+IDLE\s+LAB\\oliver\.bennett\s+RDP-Tcp#2\s+LAB-LT-03\s+\S+\s+locked/,
    );
    assert.ok(output.includes("\x1b[?25h"), "and shown again at the end");
    assert.match(
      output,
      /wmsctl: watch interrupted: 1 host: 1 connected; 19 sessions; 0 changes seen/,
    );
  });
});
