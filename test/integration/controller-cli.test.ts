import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import {
  CLASSROOM_NOW_MS,
  closedAddress,
  startFleet,
  stopFleet,
  type FleetHost,
} from "../helpers/controller-fleet.js";

const H1 = "h1.lab.example.com";
const H2 = "h2.lab.example.com";

void describe("wmsctl in-process against real agents", () => {
  let fleet: FleetHost[] = [];
  let dir: string;
  let flags: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wmsctl-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  // A fresh classroom on each agent for each test, at a fixed moment: idle times are exact.
  beforeEach(async () => {
    const now = () => CLASSROOM_NOW_MS;
    fleet = await startFleet([
      { fqdn: H1, now },
      { fqdn: H2, now },
    ]);
    flags = [
      "--insecure-loopback",
      "-s",
      `${H1},${H2}`,
      ...fleet.map((h) => `--resolve=${h.fqdn}=127.0.0.1:${h.agent.ports[0]}`),
    ];
  });
  afterEach(() => stopFleet(fleet));
  const calls = () => fleet.flatMap((h) => h.backend.disconnectCalls());

  void it("get: table, json and ndjson, exit 0", async () => {
    const table = await runWmsctl(["get", ...flags, "-o", "table"]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^HOST\s+ID\s+STATE\s+USER\s+STATION\s+CLIENT\s+IDLE\s+PROTECTED\n/);
    assert.match(
      table.stdout,
      /h2\.lab\.example\.com\s+5\s+IDLE\s+LAB\\oliver\.bennett\s+RDP-Tcp#2\s+LAB-LT-03\s+31m10s\s/,
    );
    assert.match(table.stderr, /2 hosts: 2 ok; 38 sessions/);

    const json = await runWmsctl(["get", "3", "4", ...flags, "-o", "json"]);
    assert.equal(json.status, 0);
    const reports = JSON.parse(json.stdout) as HostReport[];
    assert.deepEqual(reports.map((r) => r.host).sort(), [H1, H2]);
    for (const report of reports) {
      assert.deepEqual(
        report.sessions?.map((s) => [s.sessionId, s.userName]),
        [
          [3, "zoë.brennan"],
          [4, "józef.nowak"],
        ],
      );
    }

    const ndjson = await runWmsctl(["get", "99", ...flags, "-o", "ndjson"]);
    assert.equal(ndjson.status, 1, "a requested session that is missing is a failure");
    const lines = ndjson.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.deepEqual((JSON.parse(lines[0] ?? "") as HostReport).missing, [99]);
  });

  void it("disconnect --what-if prints one PowerShell line per session and changes nothing", async () => {
    const run = await runWmsctl(["disconnect", "4", ...flags, "--what-if", "-o", "table"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split("\n").sort(), [
      `What if: Performing the operation "Disconnect" on target "session 4 (józef.nowak, Station 3) on ${H1}".`,
      `What if: Performing the operation "Disconnect" on target "session 4 (józef.nowak, Station 3) on ${H2}".`,
    ]);
    assert.deepEqual(calls(), []);
  });

  void it("disconnect by id: exit 1 when a session is not found; --all skips protected ones", async () => {
    const byId = await runWmsctl(["disconnect", "6", "99", ...flags, "-o", "json"]);
    assert.equal(byId.status, 1);
    const reports = JSON.parse(byId.stdout) as HostReport[];
    for (const report of reports) {
      assert.deepEqual(
        report.results?.map((r) => [r.sessionId, r.outcome]),
        [
          [6, "DISCONNECTED"],
          [99, "NOT_FOUND"],
        ],
      );
    }
    const all = await runWmsctl([
      "disconnect",
      "--all",
      "--state",
      "idle",
      "--min-idle",
      "30m",
      "-s",
      H1,
      "--insecure-loopback",
      ...flags.slice(3),
      "-o",
      "json",
    ]);
    assert.equal(all.status, 0, all.stderr);
    const [report] = JSON.parse(all.stdout) as HostReport[];
    assert.deepEqual(
      report?.results?.map((r) => [r.sessionId, r.outcome]),
      [
        [5, "DISCONNECTED"],
        [8, "DISCONNECTED"],
      ],
    );
  });

  void it("exit 3 when the only failures are unreachable or timed-out hosts; --rerun-file lists them", async () => {
    const gone = "gone.lab.example.com";
    const rerun = join(dir, "rerun.txt");
    const run = await runWmsctl([
      "health",
      ...flags,
      "-s",
      gone,
      `--resolve=${gone}=${await closedAddress()}`,
      "--retries",
      "0",
      "--rerun-file",
      rerun,
      "--verbose",
      "-o",
      "table",
    ]);
    assert.equal(run.status, 3, run.stderr);
    assert.match(
      run.stderr,
      /VERBOSE: gone\.lab\.example\.com at 127\.0\.0\.2:\d+: unreachable \(UNAVAILABLE\) after 1 attempt, \d+ ms/,
    );
    assert.match(
      run.stderr,
      /VERBOSE: h1\.lab\.example\.com at 127\.0\.0\.1:\d+: ok after 1 attempt/,
    );
    assert.match(run.stdout, /h1\.lab\.example\.com\s+ok\s+SERVING\s+0\.1\.0\s+simulated/);
    assert.match(
      run.stderr,
      /gone\.lab\.example\.com: unreachable: gone\.lab\.example\.com grpc\.health\.v1\.Health\/Check UNAVAILABLE/,
    );
    const lines = (await readFile(rerun, "utf8"))
      .split("\n")
      .filter((l) => !l.startsWith("#") && l !== "");
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? "", /^gone\.lab\.example\.com 127\.0\.0\.2:\d+$/);
  });

  void it("--confirm asks before each change: Yes, No, Yes to All", async () => {
    const run = await runWmsctl(["disconnect", "3", "4", ...flags, "--confirm", "-o", "json"], {
      answers: ["yes", "no", "yes-to-all"],
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.questions, [
      { operation: "Disconnect", target: `session 3 (zoë.brennan, Station 2) on ${H1}` },
      { operation: "Disconnect", target: `session 4 (józef.nowak, Station 3) on ${H1}` },
      { operation: "Disconnect", target: `session 3 (zoë.brennan, Station 2) on ${H2}` },
    ]);
    const outcomes = Object.fromEntries(
      (JSON.parse(run.stdout) as HostReport[]).map((r) => [
        r.host,
        r.results?.map((x) => `${x.sessionId}:${x.outcome}`),
      ]),
    );
    assert.deepEqual(outcomes, {
      [H1]: ["3:DISCONNECTED", "4:DECLINED"],
      [H2]: ["3:DISCONNECTED", "4:DISCONNECTED"],
    });
  });

  void it("--confirm No to All changes nothing; without a terminal it needs --yes (exit 2)", async () => {
    const declined = await runWmsctl(["disconnect", "3", ...flags, "--confirm", "-o", "json"], {
      answers: ["no-to-all"],
    });
    assert.equal(declined.status, 0);
    assert.equal(declined.questions.length, 1);
    assert.deepEqual(calls(), []);
    const refused = await runWmsctl(["disconnect", "3", ...flags, "--confirm"], {
      hasTerminal: false,
    });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--confirm needs a terminal to ask on; add --yes/);
    assert.deepEqual(calls(), []);
    const yes = await runWmsctl(["disconnect", "3", ...flags, "--confirm", "--yes", "-o", "json"], {
      hasTerminal: false,
    });
    assert.equal(yes.status, 0, yes.stderr);
    assert.equal(calls().length, 2);
  });

  void it("--stdin takes wmsctl get -o json and PowerShell ConvertTo-Json", async () => {
    const listed = await runWmsctl(["get", "3", "5", ...flags, "-o", "json"]);
    const piped = await runWmsctl(
      [
        "disconnect",
        "--stdin",
        ...flags.filter((f) => f !== "-s" && !f.startsWith("h1.")),
        "-o",
        "json",
      ],
      {
        stdin: listed.stdout,
      },
    );
    assert.equal(piped.status, 0, piped.stderr);
    assert.deepEqual(
      calls().map((c) => c.sessionId),
      [3, 5, 3, 5],
    );
    const powershell = JSON.stringify({
      SessionId: 7,
      ComputerName: H2.toUpperCase(),
      UserName: "liam.oconnor",
    });
    const ps = await runWmsctl(["disconnect", "--stdin", ...flags, "-o", "ndjson"], {
      stdin: powershell,
    });
    assert.equal(ps.status, 0, ps.stderr);
    const lines = ps.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as HostReport);
    assert.deepEqual(
      lines.map((r) => [r.host, r.results?.map((x) => x.outcome)]),
      [[H2, ["DISCONNECTED"]]],
    );
  });

  void it("--stdin: a session without a host goes to the -s hosts (default localhost), each host called once", async () => {
    const [local] = await startFleet([{ fqdn: "localhost" }]);
    assert.ok(local !== undefined);
    try {
      const resolve = [
        "--insecure-loopback",
        ...[...fleet, local].map((h) => `--resolve=${h.fqdn}=127.0.0.1:${h.agent.ports[0]}`),
      ];
      const disconnected = () =>
        Object.fromEntries(
          [...fleet, local].map((h) => [
            h.fqdn,
            h.backend.disconnectCalls().map((c) => c.sessionId),
          ]),
        );
      const hosts = (run: { stdout: string }) =>
        (JSON.parse(run.stdout) as HostReport[]).map((r) => [
          r.host,
          r.results?.map((x) => x.sessionId),
        ]);

      const toH2 = await runWmsctl(["disconnect", "--stdin", "-s", H2, ...resolve, "-o", "json"], {
        stdin: '[{"SessionId":15}]',
      });
      assert.equal(toH2.status, 0, toH2.stderr);
      assert.deepEqual(hosts(toH2), [[H2, [15]]]);
      assert.deepEqual(disconnected(), { [H1]: [], [H2]: [15], localhost: [] });

      const toLocalhost = await runWmsctl(["disconnect", "--stdin", ...resolve, "-o", "json"], {
        stdin: '[{"SessionId":14}]',
      });
      assert.equal(toLocalhost.status, 0, toLocalhost.stderr);
      assert.deepEqual(hosts(toLocalhost), [["localhost", [14]]]);
      assert.deepEqual(disconnected(), { [H1]: [], [H2]: [15], localhost: [14] });

      const mixed = await runWmsctl(
        ["disconnect", "--stdin", "-s", `${H1},${H2}`, ...resolve, "-o", "json"],
        { stdin: JSON.stringify([{ SessionId: 3, ComputerName: H1 }, { SessionId: 13 }]) },
      );
      assert.equal(mixed.status, 0, mixed.stderr);
      assert.deepEqual(hosts(mixed), [
        [H1, [3, 13]],
        [H2, [13]],
      ]);
      const named = await runWmsctl(["disconnect", "--stdin", "-s", H2, ...resolve, "-o", "json"], {
        stdin: JSON.stringify([{ SessionId: 4, ComputerName: H1 }, { SessionId: 12 }]),
      });
      assert.equal(named.status, 0, named.stderr);
      assert.deepEqual(hosts(named), [
        [H1, [4]],
        [H2, [12]],
      ]);
      assert.deepEqual(disconnected(), {
        [H1]: [3, 13, 4],
        [H2]: [15, 13, 12],
        localhost: [14],
      });
    } finally {
      await stopFleet([local]);
    }
  });

  void it("sends caller_session_id to an agent on this machine", async () => {
    const run = await runWmsctl(["disconnect", "4", ...flags, "-o", "json"], {
      env: { WMSFLEET_SIM_SESSION: "4" },
    });
    assert.equal(run.status, 1);
    for (const report of JSON.parse(run.stdout) as HostReport[]) {
      assert.deepEqual(
        report.results?.map((r) => [r.outcome, r.protection]),
        [["PROTECTED", "CALLER_SESSION_ID"]],
      );
    }
    assert.deepEqual(calls(), []);
  });

  void it("shows a progress line on a terminal", async () => {
    const run = await runWmsctl(["health", ...flags], { tty: true });
    assert.equal(run.status, 0);
    assert.match(run.stderr, /\r0\/2 hosts done, 0 failed…/);
    assert.match(run.stdout, /^HOST\s+STATUS/);
  });
});

void describe("wmsctl interrupted", () => {
  void it("prints the hosts that answered, then exits 130", async () => {
    const interrupt = new AbortController();
    const [fast, slow] = await startFleet([
      { fqdn: "fast.lab.example.com" },
      { fqdn: "slow.lab.example.com", onDisconnect: () => interrupt.abort(new Error("Ctrl-C")) },
    ]);
    slow?.backend.inject(3, { disconnectLatencyMs: 600_000 });
    try {
      const args = ["disconnect", "3", "--insecure-loopback", "-o", "json", "--throttle", "1"];
      for (const host of [fast, slow]) {
        args.push(
          "-s",
          host?.fqdn ?? "",
          `--resolve=${host?.fqdn}=127.0.0.1:${host?.agent.ports[0]}`,
        );
      }
      const rerun = join(await mkdtemp(join(tmpdir(), "wmsctl-")), "rerun.txt");
      const run = await runWmsctl([...args, "--rerun-file", rerun], { signal: interrupt.signal });
      assert.equal(run.status, 130);
      assert.match(run.stderr, /^wmsctl: interrupted$/m);
      const reports = JSON.parse(run.stdout) as HostReport[];
      assert.deepEqual(
        reports.map((r) => [r.host, r.status]),
        [["fast.lab.example.com", "ok"]],
      );
      // The summary counts the host that never answered, and says its disconnect may have acted.
      assert.match(
        run.stderr,
        /^2 hosts: 1 ok, 1 not answered \(interrupted: a change sent to a host that did not answer may have taken effect; check with wmsctl get\); sessions: 1 disconnected$/m,
      );
      assert.match(
        await readFile(rerun, "utf8"),
        /^slow\.lab\.example\.com 127\.0\.0\.1:\d+ {2}# not answered: interrupted$/m,
      );
      await rm(dirname(rerun), { recursive: true, force: true });
    } finally {
      await stopFleet([fast, slow].filter((h) => h !== undefined));
    }
  });
});
