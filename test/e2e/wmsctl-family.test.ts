/**
 * `wmsctl logoff`, `message` and `watch` as processes against spawned agents: exit statuses and
 * output formats as users get them; `watch` streaming ndjson, reporting a change another wmsctl
 * made, surviving an agent restart (a line, then back with a resumed snapshot), and ending
 * cleanly on Ctrl-C (130) and SIGTERM (143).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import {
  spawnAgent,
  spawnAgentWith,
  spawnWmsctl,
  type SpawnedAgent,
} from "../helpers/controller-spawn.js";
import { startWatch } from "../helpers/watch-process.js";

void describe("wmsctl logoff, message and watch as processes", () => {
  let agent: SpawnedAgent;
  let flags: string[];
  before(async () => {
    agent = await spawnAgent("family.lab.example.com");
    flags = ["--insecure-loopback", "-s", agent.fqdn, agent.resolve];
  });
  after(() => agent.stop());

  void it("logoff: json output, exit 0; a session not found exits 1", async () => {
    const done = await spawnWmsctl(["logoff", "12", ...flags, "-o", "json"]);
    assert.equal(done.status, 0, done.stderr);
    const [report] = JSON.parse(done.stdout) as HostReport[];
    assert.deepEqual(
      report?.results?.map((r) => [r.sessionId, r.outcome, r.userName]),
      [[12, "LOGGED_OFF", "hannah.schmidt"]],
    );
    assert.match(done.stderr, /1 host: 1 ok; sessions: 1 logged off/);
    const missing = await spawnWmsctl(["logoff", "99", ...flags, "-o", "ndjson"]);
    assert.equal(missing.status, 1);
    assert.equal((JSON.parse(missing.stdout) as HostReport).results?.[0]?.outcome, "NOT_FOUND");
  });

  void it("message --all: ndjson, exit 0; bad input exits 2", async () => {
    const shown = await spawnWmsctl([
      "message",
      "Lunch in 5 minutes",
      "--all",
      ...flags,
      "-o",
      "ndjson",
    ]);
    assert.equal(shown.status, 0, shown.stderr);
    const report = JSON.parse(shown.stdout) as HostReport;
    assert.ok((report.results ?? []).some((r) => r.outcome === "MESSAGE_SENT"));
    const bad = await spawnWmsctl(["message", "hi", "3", "--wait", ...flags]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--wait needs --timeout/);
  });

  void it("watch: streams a change another wmsctl made, and ends on Ctrl-C with 130", async () => {
    const watch = startWatch(flags);
    const snapshot = await watch.next((r) => r.event === "snapshot");
    assert.ok(snapshot.event === "snapshot" && snapshot.cause === "initial");
    assert.ok(snapshot.sessions.some((s) => s.sessionId === 3 && s.state === "ACTIVE"));
    const disconnect = await spawnWmsctl(["disconnect", "3", ...flags]);
    assert.equal(disconnect.status, 0, disconnect.stderr);
    const changed = await watch.next((r) => r.event === "changed" && r.session.sessionId === 3);
    assert.ok(changed.event === "changed");
    assert.equal(changed.session.state, "DISCONNECTED");
    assert.equal(changed.was?.state, "ACTIVE");
    assert.equal(changed.revision, snapshot.revision + 1);
    const { status, stderr } = await watch.stop("SIGINT");
    assert.equal(status, 130);
    assert.match(
      stderr,
      /^wmsctl: watch interrupted: 1 host: 1 connected; \d+ sessions; 1 change seen$/m,
    );
  });

  void it("watch: an agent that restarts is a line, then back with a resumed snapshot; SIGTERM ends it with 143", async () => {
    const restarting = await spawnAgent("restart.lab.example.com");
    const args = ["--insecure-loopback", "-s", restarting.fqdn, restarting.resolve];
    const watch = startWatch(args);
    let again: SpawnedAgent | undefined;
    try {
      await watch.next((r) => r.event === "snapshot");
      await restarting.stop();
      const lost = await watch.next((r) => r.event === "disconnected");
      assert.ok(lost.event === "disconnected");
      assert.equal(lost.host, "restart.lab.example.com");
      again = await spawnAgentWith(
        restarting.fqdn,
        ["--insecure-loopback"],
        `127.0.0.1:${restarting.port}`,
      );
      const back = await watch.next((r) => r.event === "connected" && r.reconnected);
      assert.equal(back.host, "restart.lab.example.com");
      const resumed = await watch.next((r) => r.event === "snapshot" && r.cause === "reconnect");
      assert.ok(resumed.event === "snapshot" && resumed.sessions.length > 0);
      const { status, stderr } = await watch.stop("SIGTERM");
      assert.equal(status, 143);
      assert.match(stderr, /^wmsctl: watch terminated: 1 host: 1 connected;/m);
    } finally {
      if (watch.child.exitCode === null) watch.child.kill("SIGKILL");
      await again?.stop();
    }
  });
});
