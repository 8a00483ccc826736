/**
 * `wmsctl disconnect --confirm` on a real pseudo-terminal, answered key by key through the real
 * `@inquirer/expand` prompt. Node has no pty of its own; Python's standard `pty` module drives it
 * (the test is skipped where `python3` is missing).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import { WMSCTL_BIN } from "../helpers/commands.js";
import { spawnAgent, spawnWmsctl, type SpawnedAgent } from "../helpers/controller-spawn.js";
import { CTRL_C, HAS_PTY, runOnPty, type PtyRun } from "../helpers/pty.js";

/**
 * Each answer typed at its prompt: the expand prompt shows "No to All" twice (its choices, then
 * the line typed into), so the n-th prompt is there at the (2n−1)-th.
 */
function answering(answers: readonly string[]) {
  return answers.map((a, n) => ({
    after: "No to All",
    occurrence: 2 * n + 1,
    keys: a === "^C" ? CTRL_C : `${a}\r`,
  }));
}

void describe(
  "wmsctl --confirm on a pseudo-terminal",
  { skip: !HAS_PTY && "python3 missing" },
  () => {
    let agent: SpawnedAgent;
    before(async () => {
      agent = await spawnAgent("pty.lab.example.com");
    });
    after(() => agent.stop());

    /** Runs `wmsctl ARGS` on the pty, typing `answers` at the prompts; its status and output. */
    const onPty = (args: readonly string[], answers: readonly string[]): Promise<PtyRun> =>
      runOnPty([process.execPath, WMSCTL_BIN, ...args], answering(answers));

    void it("Ctrl-C at the prompt: exit 130, interrupted, nothing changed, the hosts counted", async () => {
      const flags = ["-s", agent.fqdn, "--insecure-loopback", agent.resolve];
      // Yes to session 7, then Ctrl-C at session 9: the approvals are made after all the questions.
      const run = await onPty(
        ["disconnect", "7", "9", ...flags, "--confirm", "-o", "json"],
        ["y", "^C"],
      );
      assert.equal(run.status, 130, run.output);
      assert.match(run.output, /^wmsctl: interrupted\r?$/m);
      assert.match(
        run.output,
        /^1 host: 1 not done \(interrupted at the --confirm prompt: nothing was changed\)\r?$/m,
      );
      assert.doesNotMatch(run.output, /force closed|ExitPromptError/);
      const check = await spawnWmsctl(["get", "7", "9", ...flags, "-o", "json"]);
      const [report] = JSON.parse(check.stdout) as HostReport[];
      assert.deepEqual(
        report?.sessions?.map((s) => [s.sessionId, s.state]),
        [
          [7, "ACTIVE"],
          [9, "ACTIVE"],
        ],
      );
    });

    void it("asks per session and acts on Yes, No and Yes to All", async () => {
      const { status, output } = await onPty(
        [
          "disconnect",
          "2",
          "3",
          "4",
          "6",
          "-s",
          agent.fqdn,
          "--insecure-loopback",
          agent.resolve,
          "--confirm",
          "-o",
          "json",
        ],
        ["y", "n", "a"],
      );
      assert.equal(status, 0, output);
      const flat = output.replace(/\s+/g, " ");
      assert.match(flat, /Are you sure you want to perform this action\?/);
      assert.match(
        flat,
        /Performing the operation "Disconnect" on target "session 2 \(amelia\.hughes, Station 1\) on pty\.lab\.example\.com"/,
      );
      assert.match(flat, /\[Y\] Yes \[A\] Yes to All \[N\] No \[L\] No to All/);
      assert.doesNotMatch(output, /hosts done/, "no progress line under a prompt");
      const json = output.replace(/\r\n/g, "\n");
      const start = json.indexOf('[\n  {\n    "host"');
      const [report] = JSON.parse(json.slice(start, json.lastIndexOf("]") + 1)) as HostReport[];
      assert.deepEqual(
        report?.results?.map((r) => `${r.sessionId}:${r.outcome}`),
        ["2:DISCONNECTED", "3:DECLINED", "4:DISCONNECTED", "6:DISCONNECTED"],
      );
    });
  },
);
