/**
 * `wms-agent` end to end as a spawned process: protection rule 3 with a real client process,
 * SIGTERM during a slow disconnect, forced shutdown, and start-up refusals (exit 2).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import {
  Outcome,
  Protection,
  SessionState,
  WmsSessionServiceClient,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient } from "../helpers/agent-harness.js";
import { runAgent, runMain, spawnAgent } from "../helpers/agent-process.js";

const CALL_AGENT = fileURLToPath(new URL("../fixtures/e2e/call-agent.ts", import.meta.url));

/** Runs the client script in its own process with `env`; resolves its parsed JSON output. */
function callFromProcess(address: string, rpc: string, request: object, env: NodeJS.ProcessEnv) {
  return new Promise<{ results: SessionResult[] }>((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", CALL_AGENT, address, rpc, JSON.stringify(request)],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stdout}\n${stderr}`));
        else resolve(JSON.parse(stdout) as { results: SessionResult[] });
      },
    );
  });
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wms-e2e-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function clientFor(t: { after(fn: () => void): void }, address: string) {
  const raw = new WmsSessionServiceClient(address, credentials.createInsecure());
  t.after(() => raw.close());
  return promisifyClient(raw);
}

async function ipv6Available(): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(0, "::1", () => server.close(() => resolve(true)));
  });
}

describe("wms-agent process", () => {
  it("protects the session of a local calling process (rule 3)", async (t) => {
    const agent = await spawnAgent(t, []);
    const address = `127.0.0.1:${agent.port}`;
    const response = await callFromProcess(
      address,
      "disconnectAll",
      {},
      { WMSFLEET_SIM_SESSION: "3" },
    );
    const byId = new Map(response.results.map((r) => [r.sessionId, r]));
    assert.equal(byId.get(3)?.outcome, Outcome.PROTECTED);
    assert.equal(byId.get(3)?.protection, Protection.CALLER_PROCESS);
    assert.match(byId.get(3)?.message ?? "", /calling process/);
    assert.equal(byId.get(2)?.outcome, Outcome.DISCONNECTED);
    assert.equal(byId.get(0)?.protection, Protection.AGENT_SESSION);

    const client = clientFor(t, address);
    const listed = await client.listSessions({ sessionIds: [2, 3] });
    assert.deepEqual(
      listed.sessions.map((s) => [s.sessionId, SessionState[s.state]]),
      [
        [2, "DISCONNECTED"],
        [3, "ACTIVE"],
      ],
    );
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
  });

  it("never logs off the session of a local calling process (rule 3) or the one it names (rule 4)", async (t) => {
    const agent = await spawnAgent(t, []);
    const address = `127.0.0.1:${agent.port}`;
    const all = await callFromProcess(address, "logoffAll", {}, { WMSFLEET_SIM_SESSION: "3" });
    const byId = new Map(all.results.map((r) => [r.sessionId, r]));
    assert.equal(byId.get(3)?.outcome, Outcome.PROTECTED);
    assert.equal(byId.get(3)?.protection, Protection.CALLER_PROCESS);
    assert.match(
      byId.get(3)?.message ?? "",
      /calling process: you cannot close the cmdlet's session/,
    );
    assert.equal(byId.get(2)?.outcome, Outcome.LOGGED_OFF);
    assert.equal(byId.get(0)?.protection, Protection.AGENT_SESSION);

    const named = await callFromProcess(
      address,
      "logoff",
      { sessionIds: [3, 4], callerSessionId: 4 },
      { WMSFLEET_SIM_SESSION: "3" },
    );
    assert.deepEqual(
      named.results.map((r) => [r.sessionId, Outcome[r.outcome], Protection[r.protection]]),
      [
        [3, "PROTECTED", "CALLER_PROCESS"],
        [4, "PROTECTED", "CALLER_SESSION_ID"],
      ],
    );
    assert.match(
      named.results[1]?.message ?? "",
      /caller_session_id.*you cannot close the cmdlet's session/,
    );

    const client = clientFor(t, address);
    const listed = await client.listSessions({ sessionIds: [2, 3, 4] });
    assert.deepEqual(
      listed.sessions.map((s) => [s.sessionId, SessionState[s.state], s.userName]),
      [
        [2, "CONNECTED", ""],
        [3, "ACTIVE", "zoë.brennan"],
        [4, "CONNECTED", ""],
      ],
    );
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
  });

  it("runs the simulated activity with the seed it is given, and says so", async (t) => {
    const agent = await spawnAgent(t, ["--sim-activity"], { WMSFLEET_SIM_SEED: "20260310" });
    const line = await agent.waitForLine(
      (l) => l.msg === "simulated activity on (replay it with --sim-seed)",
    );
    assert.equal(line["seed"], 20260310);
    // An answer means the agent is past start-up, its signal handlers in place.
    const client = clientFor(t, `127.0.0.1:${agent.port}`);
    assert.ok((await client.listSessions()).sessions.length > 0);
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
  });

  it("protects the caller's session over IPv6 loopback too", async (t) => {
    if (!(await ipv6Available())) {
      t.skip("IPv6 loopback (::1) is not available on this machine");
      return;
    }
    const agent = await spawnAgent(t, ["--listen", "[::1]:0"]);
    const response = await callFromProcess(
      `[::1]:${agent.port}`,
      "disconnect",
      { sessionIds: [4, 5], whatIf: true },
      { WMSFLEET_SIM_SESSION: "4" },
    );
    assert.deepEqual(
      response.results.map((r) => [r.sessionId, Outcome[r.outcome], Protection[r.protection]]),
      [
        [4, "PROTECTED", "CALLER_PROCESS"],
        [5, "WOULD_DISCONNECT", "UNSPECIFIED"],
      ],
    );
  });

  it("finishes a slow disconnect in flight when SIGTERM arrives, then exits 0", async (t) => {
    const dir = await tempDir(t);
    const fixture = join(dir, "slow.json");
    await writeFile(
      fixture,
      JSON.stringify({
        sessions: [
          { sessionId: 0, state: "DISCONNECTED", stationName: "Services" },
          {
            sessionId: 2,
            state: "ACTIVE",
            userName: "amelia",
            stationName: "Station 1",
            disconnectLatencyMs: 1500,
          },
        ],
      }),
    );
    const agent = await spawnAgent(t, ["--sim-fixture", fixture, "--log-level", "debug"]);
    const client = clientFor(t, `127.0.0.1:${agent.port}`);
    const call = client.disconnect({ sessionIds: [2] });
    await agent.waitForLine(
      (line) => line.msg === "rpc started" && line["rpc"] === "wms.v1.WmsSessionService/Disconnect",
    );
    agent.child.kill("SIGTERM");
    const response = await call;
    assert.deepEqual(
      response.results.map((r) => [r.sessionId, Outcome[r.outcome]]),
      [[2, "DISCONNECTED"]],
    );
    assert.equal(await agent.exited, 0);
    assert.ok(
      agent.lines.some((line) => line.msg === "agent stopped" && line["outcome"] === "drained"),
    );
  });

  it("forces the server down after the grace period and exits 1", async (t) => {
    const dir = await tempDir(t);
    const fixture = join(dir, "stuck.json");
    await writeFile(
      fixture,
      JSON.stringify({
        sessions: [{ sessionId: 2, state: "ACTIVE", disconnectLatencyMs: 600_000 }],
      }),
    );
    const agent = await spawnAgent(t, [
      "--sim-fixture",
      fixture,
      "--log-level",
      "debug",
      "--shutdown-grace",
      "0.2",
    ]);
    const client = clientFor(t, `127.0.0.1:${agent.port}`);
    const call = client.disconnect({ sessionIds: [2] });
    await agent.waitForLine((line) => line.msg === "rpc started");
    agent.child.kill("SIGTERM");
    await assert.rejects(call);
    assert.equal(await agent.exited, 1);
    assert.ok(
      agent.lines.some((line) => line.msg === "agent stopped" && line["outcome"] === "forced"),
    );
  });

  it("exits 1 with one line, no stack and no grpc-js log, when the port is taken", async (t) => {
    const first = await spawnAgent(t, []);
    const second = await runAgent(["--insecure-loopback", "--listen", `127.0.0.1:${first.port}`]);
    assert.equal(second.code, 1);
    assert.equal(
      second.stderr,
      `wms-agent: cannot listen on 127.0.0.1:${first.port}: the address is already in use (another wms-agent, or another program, listens there)\n`,
    );
    // The log (standard output) says nothing more: no stack trace, no "agent could not start".
    assert.doesNotMatch(second.stdout, /\n\s+at |could not start|No address added/);
  });
});

describe("wms-agent start-up refusals: exit 2, a precise message, nothing bound", () => {
  // Each refusal is main() refusing its settings, the same code in this process as in a spawned
  // one: the table runs in-process (a process each cost 16 agent start-ups); the cases after it
  // spawn the agent, for the exit status of a real process and its message on standard error.
  const cases: [string, string[], RegExp, NodeJS.ProcessEnv?][] = [
    ["no transport", [], /no transport security configured.*--insecure-loopback/],
    [
      "a non-loopback address under --insecure-loopback",
      ["--insecure-loopback", "--listen", "0.0.0.0:0"],
      /loopback addresses only.*0\.0\.0\.0/,
    ],
    [
      "a malformed --listen",
      ["--insecure-loopback", "--listen", "127.0.0.1"],
      /--listen: "127\.0\.0\.1" is not HOST:PORT/,
    ],
    [
      "a port out of range",
      ["--insecure-loopback", "--listen", "127.0.0.1:70000"],
      /not HOST:PORT/,
    ],
    ["an unknown flag", ["--insecure-loopback", "--frobnicate"], /unknown option '--frobnicate'/],
    ["a bad log level", ["--insecure-loopback", "--log-level", "loud"], /loud.*(choices|Allowed)/i],
    [
      "the wts backend off Windows",
      ["--insecure-loopback", "--backend", "wts"],
      /wts backend needs Windows.*--backend simulated/,
    ],
    [
      "an unknown backend",
      ["--insecure-loopback", "--backend", "hyperv"],
      /"hyperv" is not a backend/,
    ],
    [
      "a bad host name",
      ["--insecure-loopback", "--host-fqdn", "bad_name.example.com"],
      /--host-fqdn: "bad_name\.example\.com" is not a valid host name/,
    ],
    [
      "a missing fixture file",
      ["--insecure-loopback", "--sim-fixture", "/nonexistent/fixture.json"],
      /\/nonexistent\/fixture\.json/,
    ],
    [
      "a missing config file",
      ["--config", "/nonexistent/agent.json"],
      /\/nonexistent\/agent\.json: cannot read the config file/,
    ],
    [
      "a bad variable",
      ["--insecure-loopback"],
      /WMSFLEET_SHUTDOWN_GRACE: "soon" is not a number of seconds/,
      { WMSFLEET_SHUTDOWN_GRACE: "soon" },
    ],
    [
      "an --allow comma list with an entry that is not IDENTITY=ROLE",
      [
        "--tls-cert",
        "a.pem",
        "--tls-key",
        "a.key",
        "--tls-ca",
        "ca.pem",
        "--allow",
        "eve=operator,mon",
      ],
      /--allow: "mon" is not IDENTITY=ROLE/,
    ],
    [
      "TLS and insecure together",
      ["--insecure-loopback", "--tls-cert", "a.pem"],
      /exclude each other/,
    ],
  ];
  for (const [name, args, message, env] of cases) {
    it(`refuses ${name}`, async () => {
      const result = await runMain(args, env);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stdout, /agent listening/);
    });
  }

  it("refuses as a process: exit status 2, the message on standard error, nothing bound", async () => {
    const result = await runAgent(["--insecure-loopback", "--listen", "0.0.0.0:0"]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr,
      (await runMain(["--insecure-loopback", "--listen", "0.0.0.0:0"])).stderr,
      "the same words as main() in-process",
    );
    assert.doesNotMatch(result.stdout, /agent listening/);
  });

  it("refuses a fixture with a bad field, naming the file and the field", async (t) => {
    const dir = await tempDir(t);
    const fixture = join(dir, "typo.json");
    await writeFile(fixture, JSON.stringify({ sessions: [{ sessionId: 1, state: "ACTIV" }] }));
    const result = await runAgent(["--insecure-loopback", "--sim-fixture", fixture]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /typo\.json: sessions\[0\]\.state: expected one of ACTIVE/);
  });

  it("prints help and exits 0", async () => {
    const result = await runAgent(["--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /--insecure-loopback/);
    assert.match(result.stdout, /WMSFLEET_LISTEN/);
  });
});
