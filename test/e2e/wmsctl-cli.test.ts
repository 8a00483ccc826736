import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import { closedAddress } from "../helpers/controller-fleet.js";
import { spawnAgent, spawnWmsctl, type SpawnedAgent } from "../helpers/controller-spawn.js";

void describe("wmsctl end to end, spawned, against spawned wms-agent processes", () => {
  let a: SpawnedAgent;
  let b: SpawnedAgent;
  let both: string[];

  before(async () => {
    [a, b] = await Promise.all([spawnAgent("a.lab.example.com"), spawnAgent("b.lab.example.com")]);
    both = ["--insecure-loopback", "-s", `${a.fqdn},${b.fqdn}`, a.resolve, b.resolve];
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  void it("--version is package.json's version", async () => {
    const { version } = JSON.parse(
      await readFile(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    const run = await spawnWmsctl(["--version"]);
    assert.deepEqual([run.status, run.stdout], [0, `${version}\n`], run.stderr);
  });

  void it("get in each output format (exit 0)", async () => {
    const [table, json, ndjson] = await Promise.all([
      spawnWmsctl(["get", ...both, "-o", "table"]),
      spawnWmsctl(["get", "1", ...both, "-o", "json"]),
      spawnWmsctl(["get", "1", "2", ...both, "-o", "ndjson"]),
    ]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /a\.lab\.example\.com\s+1\s+ACTIVE\s+LAB\\m\.okafor\s+Console/);
    assert.equal(json.status, 0, json.stderr);
    const reports = JSON.parse(json.stdout) as HostReport[];
    assert.deepEqual(
      reports.map((r) => [r.status, r.sessions?.length]),
      [
        ["ok", 1],
        ["ok", 1],
      ],
    );
    assert.equal(ndjson.status, 0, ndjson.stderr);
    assert.equal(ndjson.stdout.trim().split("\n").length, 2);
  });

  void it("disconnect: --what-if (0), a missing session (1), bad input (2); health with a dead host (3)", async () => {
    const whatIf = await spawnWmsctl(["disconnect", "4", ...both, "--what-if", "-o", "table"]);
    assert.equal(whatIf.status, 0, whatIf.stderr);
    assert.match(
      whatIf.stdout,
      /What if: Performing the operation "Disconnect" on target "session 4 \(józef\.nowak, Station 3\) on a\.lab\.example\.com"\./,
    );
    const missing = await spawnWmsctl(["disconnect", "4", "99", ...both, "-o", "json"]);
    assert.equal(missing.status, 1, missing.stderr);
    const outcomes = (JSON.parse(missing.stdout) as HostReport[]).map((r) =>
      r.results?.map((x) => x.outcome),
    );
    assert.deepEqual(outcomes, [
      ["DISCONNECTED", "NOT_FOUND"],
      ["DISCONNECTED", "NOT_FOUND"],
    ]);
    const bad = await spawnWmsctl(["disconnect", "4294967295", ...both]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /WTS_CURRENT_SESSION/);
    const unknown = await spawnWmsctl(["health", "--frobnicate"]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown option '--frobnicate'/);
    const dead = await spawnWmsctl([
      "health",
      ...both,
      "-s",
      "dead.lab.example.com",
      `--resolve=dead.lab.example.com=${await closedAddress()}`,
      "--retries",
      "0",
      "-o",
      "ndjson",
    ]);
    assert.equal(dead.status, 3, dead.stderr);
    const statuses = dead.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as HostReport).status);
    assert.deepEqual(statuses.sort(), ["ok", "ok", "unreachable"]);
    assert.match(dead.stderr, /3 hosts: 2 ok, 1 unreachable/);
  });

  void it("pipes get -o json and -o ndjson into disconnect --stdin", async () => {
    const listed = await spawnWmsctl(["get", "7", ...both, "-o", "json"]);
    const first = await spawnWmsctl(
      ["disconnect", "--stdin", "--insecure-loopback", a.resolve, b.resolve, "-o", "json"],
      {
        stdin: listed.stdout,
      },
    );
    assert.equal(first.status, 0, first.stderr);
    const results = (JSON.parse(first.stdout) as HostReport[]).map((r) => [
      r.host,
      r.results?.map((x) => `${x.sessionId}:${x.outcome}`),
    ]);
    assert.deepEqual(results.sort(), [
      ["a.lab.example.com", ["7:DISCONNECTED"]],
      ["b.lab.example.com", ["7:DISCONNECTED"]],
    ]);
    const streamed = await spawnWmsctl([
      "get",
      "7",
      "8",
      "-s",
      a.fqdn,
      "--insecure-loopback",
      a.resolve,
      "-o",
      "ndjson",
    ]);
    const again = await spawnWmsctl(
      ["disconnect", "--stdin", "--insecure-loopback", a.resolve, "-o", "ndjson"],
      {
        stdin: streamed.stdout,
      },
    );
    assert.equal(again.status, 0, again.stderr);
    const report = JSON.parse(again.stdout) as HostReport;
    assert.deepEqual(
      report.results?.map((x) => `${x.sessionId}:${x.outcome}`),
      ["7:ALREADY_DISCONNECTED", "8:DISCONNECTED"],
    );
  });

  void it("reads PowerShell ConvertTo-Json output of Get-WmsSession", async () => {
    const powershell = JSON.stringify([
      {
        SessionId: 9,
        ComputerName: "B.LAB.EXAMPLE.COM",
        UserName: "siobhán.kelly",
        State: "Active",
      },
    ]);
    const run = await spawnWmsctl(
      ["disconnect", "--stdin", "--insecure-loopback", b.resolve, "-o", "json"],
      {
        stdin: powershell,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const [report] = JSON.parse(run.stdout) as HostReport[];
    assert.equal(report?.host, "b.lab.example.com");
    assert.deepEqual(
      report.results?.map((x) => x.outcome),
      ["DISCONNECTED"],
    );
  });

  void it("--confirm without a terminal refuses (exit 2) and changes nothing", async () => {
    const run = await spawnWmsctl(["disconnect", "11", ...both, "--confirm"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--confirm needs a terminal/);
    const check = await spawnWmsctl(["get", "11", ...both, "-o", "json"]);
    for (const report of JSON.parse(check.stdout) as HostReport[]) {
      assert.equal(report.sessions?.[0]?.state, "ACTIVE");
    }
  });

  void it("the agent protects the session of the calling wmsctl process", async () => {
    const run = await spawnWmsctl(
      ["disconnect", "12", "-s", a.fqdn, "--insecure-loopback", a.resolve, "-o", "json"],
      {
        env: { WMSFLEET_SIM_SESSION: "12" },
      },
    );
    assert.equal(run.status, 1);
    const [report] = JSON.parse(run.stdout) as HostReport[];
    assert.equal(report?.results?.[0]?.outcome, "PROTECTED");
    assert.match(report.results?.[0]?.protection ?? "", /^CALLER_(PROCESS|SESSION_ID)$/);
  });
});
