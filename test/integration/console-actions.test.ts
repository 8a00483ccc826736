/**
 * `POST /api/v1/actions` over real agents: roles and CSRF (a refused request changes nothing and
 * reaches no agent), one ndjson line per host (an unknown host is a line too), what-if, disconnect
 * by id and by filter, log off after a warning, messages; the console's audit trail (intent, then
 * each host's result, or a what-if's one summary) and the agent's audit record name the same
 * person; bad input never reaches an agent.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { AuditRecord, AuditSink } from "../../agent/audit/audit-record.js";
import type { ActionHostResult, ApiErrorBody, AuditPage } from "../../console/api/types.js";
import { WHAT_IF_FAILURES_MAX_CHARS } from "../../console/api/routes/actions-route.js";
import {
  TEST_CONTROLLER,
  startTestConsole,
  type SignedIn,
  type TestConsole,
} from "../helpers/console-harness.js";
import { until } from "../helpers/until.js";
import { waitForFleet } from "../helpers/console-events.js";
import { startFleet, stopFleet, type FleetHost } from "../helpers/controller-fleet.js";

function memoryAudit(): AuditSink & { records: AuditRecord[]; hold: Promise<void> } {
  const records: AuditRecord[] = [];
  return {
    records,
    /** Writes wait for this (a test holds an agent's answers with it). */
    hold: Promise.resolve(),
    async write(json) {
      await this.hold;
      records.push(JSON.parse(json) as AuditRecord);
    },
  };
}

interface Setup {
  console: TestConsole;
  hosts: FleetHost[];
  audits: ReturnType<typeof memoryAudit>[];
  operator: SignedIn;
  reader: SignedIn;
}

async function setup(t: TestContext): Promise<Setup> {
  const audits = [memoryAudit(), memoryAudit()];
  const hosts = await startFleet([
    { fqdn: "ws1.lab.example.com", audit: audits[0] as AuditSink },
    { fqdn: "ws2.lab.example.com", audit: audits[1] as AuditSink },
  ]);
  t.after(() => stopFleet(hosts));
  const dir = await mkdtemp(join(tmpdir(), "wms-console-actions-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const inventory = join(dir, "lab.txt");
  await writeFile(
    inventory,
    hosts.map((h) => `${h.fqdn} 127.0.0.1:${h.agent.ports[0] ?? 0}\n`).join(""),
  );
  const console = await startTestConsole(
    t,
    { inventory: [inventory] },
    {
      controller: TEST_CONTROLLER,
    },
  );
  await console.addUser("alice", "operator");
  await console.addUser("rita", "reader");
  await waitForFleet(console.fleet, () =>
    console.fleet.hosts().every((h) => h.status === "online"),
  );
  return {
    console,
    hosts,
    audits,
    operator: await console.login("alice"),
    reader: await console.login("rita"),
  };
}

/** POSTs an action; returns the status and, for 200, the parsed lines. */
async function act(
  console: TestConsole,
  headers: Record<string, string>,
  body: unknown,
): Promise<{
  status: number;
  type: string | null;
  lines: ActionHostResult[];
  error?: ApiErrorBody["error"];
}> {
  const response = await console.fetch("/api/v1/actions", {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  const type = response.headers.get("content-type");
  const text = await response.text();
  if (response.status !== 200) {
    return {
      status: response.status,
      type,
      lines: [],
      error: (JSON.parse(text) as ApiErrorBody).error,
    };
  }
  const lines = text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as ActionHostResult);
  return { status: response.status, type, lines };
}

const agentCalls = (setup: Setup) => setup.audits.reduce((n, a) => n + a.records.length, 0);

describe("console actions: who may act", () => {
  it("a reader is refused, a cookie without the CSRF token is refused; neither reaches an agent, both are audited", async (t) => {
    const s = await setup(t);
    const body = {
      action: "disconnect",
      sessions: [{ host: "ws1.lab.example.com", sessionId: 7 }],
    };
    const reader = await act(s.console, s.reader.headers, body);
    assert.equal(reader.status, 403);
    assert.equal(reader.error?.code, "forbidden");
    assert.match(reader.error?.message ?? "", /needs the operator role; rita is reader/);
    const noCsrf = await act(
      s.console,
      { cookie: s.operator.cookie, "content-type": "application/json" },
      body,
    );
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.error?.code, "csrf_failed");
    assert.equal(agentCalls(s), 0);
    const page = (await (
      await s.console.fetch("/api/v1/audit?action=denied", {
        headers: { cookie: s.operator.cookie },
      })
    ).json()) as AuditPage;
    assert.deepEqual(
      page.records.map((r) => [r.actor, r.outcome, r.detail["path"]]),
      [
        ["alice", "csrf_failed", "/api/v1/actions"],
        ["rita", "forbidden", "/api/v1/actions"],
      ],
    );
  });
});

describe("console actions: results", () => {
  it("what-if by id: one ndjson line per host (an unknown host too), nothing changes; both audit trails name alice", async (t) => {
    const s = await setup(t);
    const result = await act(s.console, s.operator.headers, {
      action: "disconnect",
      whatIf: true,
      sessions: [
        { host: "ws1.lab.example.com", sessionId: 7 },
        { host: "WS1.lab.example.com.", sessionId: 999 },
        { host: "ghost.lab.example.com", sessionId: 3 },
        { host: "ws1.lab.example.com", sessionId: 7 },
      ],
    });
    assert.equal(result.status, 200);
    assert.equal(result.type, "application/x-ndjson; charset=utf-8");
    assert.deepEqual(
      result.lines.map((l) => [l.host, l.status]),
      [
        ["ghost.lab.example.com", "unknown-host"],
        ["ws1.lab.example.com", "ok"],
      ],
    );
    const ws1 = result.lines[1];
    assert.deepEqual(
      ws1?.results.map((r) => [r.sessionId, r.outcome, r.user]),
      [
        [7, "WOULD_DISCONNECT", "liam.oconnor"],
        [999, "NOT_FOUND", null],
      ],
    );
    assert.equal(
      s.console.fleet.sessions().find((x) => x.host === "ws1.lab.example.com" && x.sessionId === 7)
        ?.state,
      "ACTIVE",
    );
    const [agentRecord] = s.audits[0]?.records ?? [];
    assert.equal(agentRecord?.rpc, "Disconnect");
    assert.equal(agentRecord?.actor, "alice");
    const page = (await (
      await s.console.fetch("/api/v1/audit?actor=alice", { headers: { cookie: s.operator.cookie } })
    ).json()) as AuditPage;
    const trail = page.records.filter((r) => r.action.startsWith("action.")).reverse();
    assert.deepEqual(
      trail.map((r) => [r.action, r.outcome, r.hosts]),
      [
        ["action.intent", "what-if", ["ws1.lab.example.com", "ghost.lab.example.com"]],
        // A what-if's results: one record, when it ends.
        ["action.result", "what-if", ["ghost.lab.example.com", "ws1.lab.example.com"]],
      ],
    );
    assert.deepEqual(trail[0]?.detail["sessions"], {
      "ws1.lab.example.com": [7, 999],
      "ghost.lab.example.com": [3],
    });
    const { method, path, ...summary } = trail[1]?.detail ?? {};
    assert.deepEqual([method, path], ["POST", "/api/v1/actions"]);
    assert.deepEqual(summary, {
      intent: trail[0]?.id,
      action: "disconnect",
      whatIf: true,
      statuses: { "unknown-host": 1, ok: 1 },
      outcomes: { WOULD_DISCONNECT: 1, NOT_FOUND: 1 },
      failures: [
        {
          host: "ghost.lab.example.com",
          status: "unknown-host",
          message: "ghost.lab.example.com is not in the console's inventory: nothing was sent",
        },
      ],
    });
  });

  it("a what-if's result record names its first failures and counts the rest", async (t) => {
    const s = await setup(t);
    // Each failure is ~150 characters of JSON: 200 do not fit in the record's budget.
    const ghosts = Array.from({ length: 200 }, (_, i) => `ghost${i}.lab.example.com`);
    const result = await act(s.console, s.operator.headers, {
      action: "logoff",
      whatIf: true,
      hosts: ["ws2.lab.example.com", ...ghosts],
    });
    assert.equal(result.status, 200);
    assert.equal(result.lines.length, ghosts.length + 1);
    const page = (await (
      await s.console.fetch("/api/v1/audit?action=action.result", {
        headers: { cookie: s.operator.cookie },
      })
    ).json()) as AuditPage;
    assert.equal(page.records.length, 1);
    const [record] = page.records;
    assert.equal(record?.outcome, "what-if");
    assert.deepEqual(record?.hosts.slice().sort(), [...ghosts, "ws2.lab.example.com"].sort());
    assert.deepEqual(record?.detail["statuses"], { "unknown-host": ghosts.length, ok: 1 });
    const failures = record?.detail["failures"] as { host: string }[];
    const more = record?.detail["moreFailures"] as number;
    assert.ok(failures.length >= 50 && more > 0, `${failures.length} named, ${more} more`);
    assert.equal(failures.length + more, ghosts.length);
    assert.deepEqual(
      failures.map((f) => f.host),
      ghosts.slice(0, failures.length),
    );
    assert.ok(JSON.stringify(failures).length <= WHAT_IF_FAILURES_MAX_CHARS);
    // The sessions ws2 would log off, counted; none of them was.
    const outcomes = record?.detail["outcomes"] as Record<string, number>;
    assert.ok((outcomes["WOULD_LOG_OFF"] ?? 0) > 0, JSON.stringify(outcomes));
    assert.ok(s.console.fleet.sessions().some((x) => x.host === "ws2.lab.example.com"));
  });

  it("streams each host's line and result record as it comes, while a slow host holds the action", async (t) => {
    const s = await setup(t);
    // ws2's agent writes its audit record before it answers: holding the write holds its answer.
    let release = () => {};
    (s.audits[1] as ReturnType<typeof memoryAudit>).hold = new Promise(
      (resolve) => (release = resolve),
    );
    const response = await s.console.fetch("/api/v1/actions", {
      method: "POST",
      headers: s.operator.headers,
      body: JSON.stringify({
        action: "disconnect",
        hosts: ["ws1.lab.example.com", "ws2.lab.example.com"],
      }),
    });
    assert.equal(response.status, 200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.equal(
      (JSON.parse(first.split("\n")[0] ?? "") as ActionHostResult).host,
      "ws1.lab.example.com",
    );
    // ws1's result record is written while ws2 is still held, not when the action ends.
    const ws1Recorded = async () => {
      const page = (await (
        await s.console.fetch("/api/v1/audit?action=action.result", {
          headers: { cookie: s.operator.cookie },
        })
      ).json()) as AuditPage;
      return page.records.map((r) => r.hosts.join());
    };
    await until(async () => (await ws1Recorded()).includes("ws1.lab.example.com"), {
      what: "ws1's result record",
      everyMs: 20,
      signal: t.signal,
    });
    release();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    assert.equal((JSON.parse(rest) as ActionHostResult).host, "ws2.lab.example.com");
    assert.deepEqual((await ws1Recorded()).sort(), ["ws1.lab.example.com", "ws2.lab.example.com"]);
  });

  it("disconnect by hosts and filter acts on every match of every host, and the fleet sees it", async (t) => {
    const s = await setup(t);
    const result = await act(s.console, s.operator.headers, {
      action: "disconnect",
      hosts: "all",
      filter: { user: "LAB\\amelia*", states: ["ACTIVE"] },
    });
    assert.equal(result.status, 200);
    assert.deepEqual(result.lines.map((l) => l.host).sort(), [
      "ws1.lab.example.com",
      "ws2.lab.example.com",
    ]);
    for (const line of result.lines) {
      assert.deepEqual(
        line.results.map((r) => [r.sessionId, r.outcome]),
        [[2, "DISCONNECTED"]],
      );
    }
    await waitForFleet(
      s.console.fleet,
      () =>
        s.console.fleet.sessions().filter((x) => x.sessionId === 2 && x.state === "DISCONNECTED")
          .length === 2,
    );
    assert.deepEqual(
      s.audits.map((a) => a.records.map((r) => [r.rpc, r.kind, r.actor])),
      [
        [
          ["DisconnectAll", "intent", "alice"],
          ["DisconnectAll", "result", "alice"],
        ],
        [
          ["DisconnectAll", "intent", "alice"],
          ["DisconnectAll", "result", "alice"],
        ],
      ],
    );
  });

  it("log off after a warning: the warning's results come with the host's line", async (t) => {
    const s = await setup(t);
    const result = await act(s.console, s.operator.headers, {
      action: "logoff",
      sessions: [{ host: "ws2.lab.example.com", sessionId: 9 }],
      warn: { text: "Saving your work? You are logged off now.", grace: "0s" },
    });
    assert.equal(result.status, 200);
    const [line] = result.lines;
    assert.equal(line?.status, "ok");
    assert.deepEqual(
      line?.results.map((r) => [r.sessionId, r.outcome]),
      [[9, "LOGGED_OFF"]],
    );
    assert.deepEqual(
      line?.warnings?.map((r) => [r.sessionId, r.outcome]),
      [[9, "MESSAGE_SENT"]],
    );
    assert.deepEqual(
      s.audits[1]?.records.map((r) => [r.rpc, r.kind, r.actor]),
      [
        // The what-if that finds whom to warn, the warning, the log-off.
        ["Logoff", "result", "alice"],
        ["SendMessage", "intent", "alice"],
        ["SendMessage", "result", "alice"],
        ["Logoff", "intent", "alice"],
        ["Logoff", "result", "alice"],
      ],
    );
  });

  it("a message to the sessions of a filter", async (t) => {
    const s = await setup(t);
    const result = await act(s.console, s.operator.headers, {
      action: "message",
      hosts: ["ws1.lab.example.com"],
      filter: { user: "chloe*" },
      message: { text: "Lunch is ready", title: "Canteen", timeout: "30s" },
    });
    assert.equal(result.status, 200);
    assert.deepEqual(
      result.lines[0]?.results.map((r) => [r.sessionId, r.outcome]),
      [[8, "MESSAGE_SENT"]],
    );
  });

  it("a host that cannot be reached is its own line", async (t) => {
    const s = await setup(t);
    await (s.hosts[1] as FleetHost).agent.shutdown({ graceMs: 0 });
    const result = await act(s.console, s.operator.headers, {
      action: "disconnect",
      whatIf: true,
      hosts: ["ws1.lab.example.com", "ws2.lab.example.com"],
    });
    const byHost = new Map(result.lines.map((l) => [l.host, l]));
    assert.equal(byHost.get("ws1.lab.example.com")?.status, "ok");
    assert.equal(byHost.get("ws2.lab.example.com")?.status, "unreachable");
    assert.equal(byHost.get("ws2.lab.example.com")?.code, "UNAVAILABLE");
    assert.equal(result.lines.length, 2);
  });
});

describe("console actions: bad input", () => {
  it("is refused with a precise 400 before the audit trail or any agent sees it", async (t) => {
    const s = await setup(t);
    const session = { host: "ws1.lab.example.com", sessionId: 7 };
    const cases: [unknown, RegExp][] = [
      [{}, /"action" is required/],
      [
        { action: "reboot", sessions: [session] },
        /"action" must be one of disconnect, logoff, message/,
      ],
      [{ action: "disconnect" }, /exactly one of "sessions" \(by id\) and "hosts"/],
      [{ action: "disconnect", sessions: [session], hosts: "all" }, /exactly one of/],
      [{ action: "disconnect", sessions: [] }, /"sessions" must be an array of 1\.\.10000/],
      [
        {
          action: "disconnect",
          sessions: [{ host: "ws1.lab.example.com", sessionId: 4294967295 }],
        },
        /"sessions\[0\]\.sessionId" must be an integer 0\.\.4294967294/,
      ],
      [
        { action: "disconnect", sessions: [{ host: "ws1.lab.example.com", sessionId: "7" }] },
        /must be an integer/,
      ],
      [
        { action: "disconnect", sessions: [{ host: "not a host!", sessionId: 7 }] },
        /"sessions\[0\]\.host"/,
      ],
      [{ action: "disconnect", sessions: [{ ...session, user: "x" }] }, /unknown field "user"/],
      [{ action: "disconnect", sessions: [session], filter: {} }, /"filter" goes with "hosts"/],
      [
        { action: "disconnect", hosts: ["ws1.lab.example.com"], filter: { user: "a|b" } },
        /"filter\.user": user name pattern: character "\|"/,
      ],
      [
        { action: "disconnect", hosts: ["ws1.lab.example.com"], filter: { states: ["ASLEEP"] } },
        /"filter\.states\[0\]" must be one of ACTIVE/,
      ],
      [
        { action: "disconnect", hosts: ["ws1.lab.example.com"], filter: { minIdle: "30" } },
        /"filter\.minIdle": "30" is not a duration with a unit/,
      ],
      [{ action: "disconnect", hosts: "some" }, /"hosts" must be "all" or an array/],
      [{ action: "message", sessions: [session] }, /"message" is required/],
      [{ action: "message", sessions: [session], message: { text: "  " } }, /only white space/],
      [
        { action: "message", sessions: [session], message: { text: "x".repeat(4097) } },
        /"message\.text" has at most 4096/,
      ],
      [
        { action: "message", sessions: [session], message: { text: "hi", timeout: "0s" } },
        /at least 1s/,
      ],
      [
        { action: "disconnect", sessions: [session], message: { text: "hi" } },
        /"message" only goes with "action": "message"/,
      ],
      [
        {
          action: "message",
          sessions: [session],
          message: { text: "hi" },
          warn: { text: "x", grace: "1m" },
        },
        /"warn" goes with disconnect and logoff/,
      ],
      [
        { action: "logoff", sessions: [session], warn: { text: "bye" } },
        /"warn": "grace" is required/,
      ],
      [
        { action: "logoff", sessions: [session], warn: { text: "bye", grace: "2h" } },
        /"warn\.grace": 2h is longer than 1 h/,
      ],
      [
        { action: "disconnect", sessions: [session], whatIf: "yes" },
        /"whatIf" must be true or false/,
      ],
    ];
    for (const [body, message] of cases) {
      const result = await act(s.console, s.operator.headers, body);
      assert.equal(result.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(result.error?.code, "bad_request");
      assert.match(result.error?.message ?? "", message, JSON.stringify(body).slice(0, 80));
    }
    assert.equal(agentCalls(s), 0);
    const page = (await (
      await s.console.fetch("/api/v1/audit?action=action.intent", {
        headers: { cookie: s.operator.cookie },
      })
    ).json()) as AuditPage;
    assert.deepEqual(page.records, []);
  });
});

describe("console metrics", () => {
  it("GET /metrics: sessions in windows_exporter's names, by host and state, idle seconds, hosts by status, actions and their outcomes, RPC latency", async (t) => {
    const s = await setup(t);
    await act(s.console, s.operator.headers, {
      action: "disconnect",
      whatIf: true,
      sessions: [
        { host: "ws1.lab.example.com", sessionId: 7 },
        { host: "ws1.lab.example.com", sessionId: 0 },
      ],
    });
    assert.equal((await s.console.fetch("/metrics")).status, 401);
    const response = await s.console.fetch("/metrics", { headers: { cookie: s.reader.cookie } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const lines = text.split("\n");
    const has = (line: string) => assert.ok(lines.includes(line), `missing: ${line}`);
    has(
      'windows_terminal_services_session_info{server="ws1.lab.example.com",session_name="Station 1",user="LAB\\\\amelia.hughes",host="",state="active"} 1',
    );
    has('wmsconsole_sessions{server="ws2.lab.example.com",state="active"} 13');
    has('wmsconsole_sessions{server="ws2.lab.example.com",state="listen"} 1');
    has('wmsconsole_hosts{status="online"} 2');
    has('wmsconsole_hosts{status="unreachable"} 0');
    has('wmsconsole_action_hosts_total{action="disconnect",what_if="true",status="ok"} 1');
    has(
      'wmsconsole_action_sessions_total{action="disconnect",what_if="true",outcome="WOULD_DISCONNECT"} 1',
    );
    has(
      'wmsconsole_action_sessions_total{action="disconnect",what_if="true",outcome="PROTECTED"} 1',
    );
    has('wmsconsole_rpc_duration_seconds_count{action="disconnect",status="ok"} 1');
    assert.match(
      text,
      /^wmsconsole_session_idle_seconds\{server="ws1\.lab\.example\.com",session_name="RDP-Tcp#2",user="LAB\\\\oliver\.bennett"\} \d+$/m,
    );
    assert.match(text, /^wmsconsole_process_resident_memory_bytes \d+/m);
    assert.equal(
      text.split("\n").filter((l) => l.startsWith("windows_terminal_services_session_info{"))
        .length,
      38,
    );
  });
});
