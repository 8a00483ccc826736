/**
 * The session history: on a seeded history in a real SQLite file, `GET /api/v1/history` (filters,
 * paging newest first, precise 400s) and `GET /api/v1/occupancy` (per host and per hour);
 * pruning after `--history-days` with an injected clock; and the recorder over real agents:
 * logons seen at start, then a reconnect, a lock, an idle threshold and a logoff as they happen,
 * and nothing recorded for a host that goes away.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { ApiErrorBody, HistoryPage, OccupancyAnswer } from "../../console/api/types.js";
import { occupancy, HOUR_MS } from "../../console/history/occupancy.js";
import { pruneHistory } from "../../console/history/retention.js";
import { openSqliteStore } from "../../console/store/sqlite-store.js";
import type { NewHistoryEvent } from "../../console/store/store.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { waitForFleet } from "../helpers/console-events.js";
import { TEST_CONTROLLER, startTestConsole } from "../helpers/console-harness.js";
import { startFleet, stopFleet } from "../helpers/controller-fleet.js";

const T0 = Date.parse("2026-11-02T08:00:00Z");
const MIN = 60_000;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wms-console-history-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Two hosts, a morning: ws1 has alice 08:10-10:30 and bob 09:00-09:20; ws2 has carol 08:30-. */
function seed(): NewHistoryEvent[] {
  const at = (minutes: number) => new Date(T0 + minutes * MIN);
  const event = (
    minutes: number,
    host: string,
    sessionId: number,
    user: string,
    kind: NewHistoryEvent["kind"],
    detail = "",
  ): NewHistoryEvent => ({ time: at(minutes), host, sessionId, user, kind, detail });
  return [
    event(10, "ws1.lab", 2, "LAB\\alice", "logon", "ACTIVE"),
    event(30, "ws2.lab", 3, "LAB\\carol", "logon", "ACTIVE"),
    event(60, "ws1.lab", 4, "LAB\\bob", "logon", "ACTIVE"),
    event(70, "ws1.lab", 2, "LAB\\alice", "lock"),
    event(75, "ws1.lab", 2, "LAB\\alice", "unlock"),
    event(80, "ws1.lab", 4, "LAB\\bob", "logoff"),
    event(100, "ws2.lab", 3, "LAB\\carol", "disconnect"),
    event(130, "ws2.lab", 3, "LAB\\carol", "idle", "30m"),
    event(150, "ws1.lab", 2, "LAB\\alice", "logoff"),
  ];
}

describe("console history: API over a seeded history", () => {
  it("answers history filtered by host, user and time, newest first, a page at a time", async (t) => {
    const console = await startTestConsole(t, {}, { background: { timers: false } });
    await console.addUser("rita", "reader");
    const { token } = await console.addToken("rita");
    await console.store.appendHistory(seed());
    const headers = { authorization: `Bearer ${token}` };
    const get = async (query: string) => {
      const response = await console.fetch(`/api/v1/history${query}`, { headers });
      assert.equal(response.status, 200, await response.clone().text());
      return (await response.json()) as HistoryPage;
    };
    const all = await get("");
    assert.deepEqual(
      all.events.map((e) => [e.time.slice(11, 16), e.host, e.user, e.kind]),
      [
        ["10:30", "ws1.lab", "LAB\\alice", "logoff"],
        ["10:10", "ws2.lab", "LAB\\carol", "idle"],
        ["09:40", "ws2.lab", "LAB\\carol", "disconnect"],
        ["09:20", "ws1.lab", "LAB\\bob", "logoff"],
        ["09:15", "ws1.lab", "LAB\\alice", "unlock"],
        ["09:10", "ws1.lab", "LAB\\alice", "lock"],
        ["09:00", "ws1.lab", "LAB\\bob", "logon"],
        ["08:30", "ws2.lab", "LAB\\carol", "logon"],
        ["08:10", "ws1.lab", "LAB\\alice", "logon"],
      ],
    );
    assert.equal(all.next, undefined);
    assert.equal(all.events[1]?.detail, "30m");

    const alice = await get("?user=lab\\ALICE&host=WS1.lab");
    assert.deepEqual(
      alice.events.map((e) => e.kind),
      ["logoff", "unlock", "lock", "logon"],
    );
    // The user is a pattern (the agents' matcher: any case, on DOMAIN\user and the name alone).
    const kinds = async (user: string) =>
      (await get(`?user=${encodeURIComponent(user)}`)).events.map((e) => `${e.user} ${e.kind}`);
    assert.deepEqual(await kinds("ALICE"), [
      "LAB\\alice logoff",
      "LAB\\alice unlock",
      "LAB\\alice lock",
      "LAB\\alice logon",
    ]);
    assert.deepEqual(await kinds("lab\\?o*"), ["LAB\\bob logoff", "LAB\\bob logon"]);
    assert.deepEqual(await kinds("*ro?"), [
      "LAB\\carol idle",
      "LAB\\carol disconnect",
      "LAB\\carol logon",
    ]);
    assert.deepEqual(await kinds("OTHER\\alice"), []);
    assert.equal((await kinds("*")).length, 9);
    const window = await get(
      `?from=${encodeURIComponent("2026-11-02T09:00:00Z")}&to=${encodeURIComponent("2026-11-02T10:40:00+01:00")}`,
    );
    assert.deepEqual(
      window.events.map((e) => e.time.slice(11, 16)),
      ["09:20", "09:15", "09:10", "09:00"],
    );

    // Paging: 4, 4, 1, each page older than the last, none twice.
    const seen: string[] = [];
    let query = "?limit=4";
    for (const expected of [4, 4, 1]) {
      const page = await get(query);
      assert.equal(page.events.length, expected);
      seen.push(...page.events.map((e) => String(e.id)));
      if (expected === 1) assert.equal(page.next, undefined);
      else query = `?limit=4&before=${page.next ?? ""}`;
    }
    assert.deepEqual(
      seen,
      all.events.map((e) => String(e.id)),
    );

    for (const [bad, message] of [
      ["?from=yesterday", /"from": "yesterday" is not an ISO 8601 time with a zone/],
      ["?from=2026-11-02T09:00:00", /"from".* is not an ISO 8601 time with a zone/],
      ["?from=2026-11-02T10:00:00Z&to=2026-11-02T09:00:00Z", /"from" must be before "to"/],
      ["?limit=0", /"limit" must be an integer 1\.\.2000/],
      ["?limit=2001", /"limit" must be an integer 1\.\.2000/],
      ["?before=12", /"before" must be the "next" of the previous page/],
      ["?session=3", /unknown query parameter "session"/],
      ["?host=", /"host" must have 1\.\.256 characters/],
      ["?user=a%7Cb", /"user": user name pattern: character "\|" cannot appear/],
      ["?user=A%5CB%5CC", /"user": user name pattern: at most one "\\"/],
    ] as const) {
      const response = await console.fetch(`/api/v1/history${bad}`, { headers });
      assert.equal(response.status, 400, bad);
      const body = (await response.json()) as ApiErrorBody;
      assert.equal(body.error.code, "bad_request");
      assert.match(body.error.message, message, bad);
    }
    assert.equal((await console.fetch("/api/v1/history")).status, 401);
  });

  it("answers occupancy per host and per hour, a session counted in every hour it was in use", async (t) => {
    const console = await startTestConsole(t, {}, { background: { timers: false } });
    await console.addUser("rita", "reader");
    const { token } = await console.addToken("rita");
    await console.store.appendHistory(seed());
    const headers = { authorization: `Bearer ${token}` };
    const window = "from=2026-11-02T08:00:00Z&to=2026-11-02T12:00:00Z";
    const byHost = (await (
      await console.fetch(`/api/v1/occupancy?${window}&by=host`, { headers })
    ).json()) as OccupancyAnswer;
    assert.deepEqual(byHost.hours, [
      "2026-11-02T08:00:00.000Z",
      "2026-11-02T09:00:00.000Z",
      "2026-11-02T10:00:00.000Z",
      "2026-11-02T11:00:00.000Z",
    ]);
    // ws1: alice 08:10-10:30 (8, 9, 10), bob 09:00-09:20 (9). ws2: carol from 08:30, still on.
    assert.deepEqual(byHost.hosts, [
      { host: "ws1.lab", sessions: [1, 2, 1, 0], peak: 2 },
      { host: "ws2.lab", sessions: [1, 1, 1, 1], peak: 1 },
    ]);
    const byHour = (await (
      await console.fetch(`/api/v1/occupancy?${window}&by=hour`, { headers })
    ).json()) as OccupancyAnswer;
    assert.deepEqual(byHour.total, [2, 3, 2, 1]);
    assert.equal(byHour.hosts, undefined);
    // A window that starts after every logon still sees the sessions open before it.
    const later = (await (
      await console.fetch(
        "/api/v1/occupancy?from=2026-11-02T10:00:00Z&to=2026-11-02T11:00:00Z&by=hour",
        { headers },
      )
    ).json()) as OccupancyAnswer;
    assert.deepEqual(later.total, [2]);
    for (const [bad, message] of [
      ["?by=day", /"by" must be host or hour/],
      ["?from=2026-10-01T00:00:00Z&to=2026-11-02T00:00:00Z", /longer than 31 days/],
      ["?from=2026-11-02T12:00:00Z&to=2026-11-02T08:00:00Z", /"from" must be before "to"/],
    ] as const) {
      const response = await console.fetch(`/api/v1/occupancy${bad}`, { headers });
      assert.equal(response.status, 400, bad);
      assert.match(((await response.json()) as ApiErrorBody).error.message, message);
    }
  });

  it("prunes changes and ended spans older than the retention, keeping open spans", async (t) => {
    const store = openSqliteStore({ dataDir: join(await tempDir(t), "data") });
    t.after(() => store.close());
    await store.appendHistory(seed());
    const day = 86_400_000;
    // 90 days after 09:50 on the day: everything before 09:50 goes.
    const removed = await pruneHistory(store, 90, T0 + 110 * MIN + 90 * day);
    assert.equal(removed, 7);
    const left = await store.queryHistory({ limit: 100 });
    assert.deepEqual(
      left.map((e) => e.kind),
      ["logoff", "idle"],
    );
    const spans = await store.usageSpans(new Date(T0), new Date(T0 + 4 * HOUR_MS));
    // bob's span (ended 09:20) went; alice's (ended 10:30) and carol's (open) stay.
    assert.deepEqual(spans.map((s) => s.user).sort(), ["LAB\\alice", "LAB\\carol"]);
    assert.equal(await pruneHistory(store, 90, T0 + 110 * MIN + 90 * day), 0);
  });

  it("the store's own occupancy count equals a brute-force count of a seeded history, for any window", async (t) => {
    const store = openSqliteStore({ dataDir: join(await tempDir(t), "data") });
    t.after(() => store.close());
    // Three days of six hosts: spans of random lengths (some on hour boundaries, some over
    // midnight, a logoff missed and a logon that closes it, some still open), seeded.
    let seed = 17;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const events: NewHistoryEvent[] = [];
    const spans: { host: string; sessionId: number; start: number; end: number | undefined }[] = [];
    for (let h = 0; h < 6; h++) {
      const host = `ws${h}.lab.example.com`;
      for (let sessionId = 1; sessionId <= 4; sessionId++) {
        let time = T0 - 12 * HOUR_MS + Math.floor(random() * 90) * MIN;
        while (time < T0 + 3 * 24 * HOUR_MS) {
          const length = random() < 0.2 ? HOUR_MS : Math.floor(random() * 10 * HOUR_MS);
          const common = { host, sessionId, user: `LAB\\u${h}${sessionId}`, detail: "" };
          events.push({ ...common, time: new Date(time), kind: "logon" });
          const last = time + length >= T0 + 3 * 24 * HOUR_MS;
          const missed = random() < 0.1;
          if (!last && !missed) {
            events.push({ ...common, time: new Date(time + length), kind: "logoff" });
          }
          // A missed logoff: the next logon on the session, at once, closes the span (the store does).
          const next = time + length + (missed ? 0 : Math.floor(random() * 3 * HOUR_MS));
          spans.push({ host, sessionId, start: time, end: last ? undefined : time + length });
          if (last) break;
          time = next;
        }
      }
    }
    events.sort((a, b) => a.time.getTime() - b.time.getTime());
    await store.appendHistory(events);
    const windows: [number, number][] = [
      [T0, T0 + 24 * HOUR_MS],
      [T0 + 17 * MIN, T0 + 5 * HOUR_MS + 3 * MIN],
      [T0 - 24 * HOUR_MS, T0 + 4 * 24 * HOUR_MS],
      [T0 + 30 * HOUR_MS, T0 + 30 * HOUR_MS + 1],
      [T0 + 2 * 24 * HOUR_MS + 59 * MIN, T0 + 3 * 24 * HOUR_MS + 30 * MIN],
    ];
    for (const [from, to] of windows) {
      const counted = await store.hourlyOccupancy(new Date(from), new Date(to));
      // Brute force: every hour of the window, every span of the seed, does it touch the hour?
      const first = Math.floor(from / HOUR_MS) * HOUR_MS;
      const hours = Math.max(1, Math.ceil((to - first) / HOUR_MS));
      const expected = new Map<string, number[]>();
      for (const span of spans) {
        if (span.start >= to) continue;
        const end = span.end ?? to;
        if (end <= from && span.end !== undefined) continue;
        for (let index = 0; index < hours; index++) {
          const hourStart = first + index * HOUR_MS;
          if (span.start < hourStart + HOUR_MS && end > hourStart) {
            const counts = expected.get(span.host) ?? new Array<number>(hours).fill(0);
            counts[index] = (counts[index] ?? 0) + 1;
            expected.set(span.host, counts);
          }
        }
      }
      const window = `${new Date(from).toISOString()}..${new Date(to).toISOString()}`;
      // And the same as counting the store's spans one by one.
      const oneByOne = occupancy(await store.usageSpans(new Date(from), new Date(to)), from, to);
      assert.deepEqual(counted, oneByOne, window);
      assert.deepEqual(
        new Map([...counted.hosts].sort(([a], [b]) => a.localeCompare(b))),
        new Map([...expected].sort(([a], [b]) => a.localeCompare(b))),
        window,
      );
      assert.equal(counted.hours.length, hours, window);
    }
  });

  it("counts a span on an hour's boundary in the hours it touches only", () => {
    const span = (start: number, end: number | undefined) => ({
      host: "h",
      sessionId: 1,
      user: "u",
      start: new Date(T0 + start * MIN),
      end: end === undefined ? undefined : new Date(T0 + end * MIN),
    });
    const counted = occupancy(
      [span(0, 60), span(60, 61), span(119, undefined)],
      T0,
      T0 + 3 * HOUR_MS,
    );
    assert.deepEqual(counted.hosts.get("h"), [1, 2, 1]);
  });
});

describe("console history: recorded from real agents", () => {
  it("records logons seen at start, idle crossing a policy's threshold, then reconnect, lock and logoff as they happen", async (t) => {
    const hosts = await startFleet([
      { fqdn: "ws1.lab.example.com" },
      { fqdn: "ws2.lab.example.com" },
    ]);
    t.after(() => stopFleet(hosts));
    const inventory = join(await tempDir(t), "lab.txt");
    await writeFile(
      inventory,
      hosts.map((h) => `${h.fqdn} 127.0.0.1:${h.agent.ports[0] ?? 0}\n`).join(""),
    );
    const console = await startTestConsole(
      t,
      { inventory: [inventory] },
      {
        controller: TEST_CONTROLLER,
        background: { timers: false },
      },
    );
    await waitForFleet(console.fleet, () =>
      console.fleet.hosts().every((h) => h.status === "online"),
    );
    await console.history.flush();
    const logons = await console.store.queryHistory({ host: "ws1.lab.example.com", limit: 100 });
    // Every logged-on session of the classroom: 16 people on each host.
    assert.equal(logons.length, 16);
    assert.ok(logons.every((e) => e.kind === "logon"));
    assert.ok(logons.some((e) => e.user === "LAB\\ethan.park" && e.detail === "DISCONNECTED"));

    const ws1 = hosts[0];
    assert.ok(ws1 !== undefined);
    // Idle crossing the threshold an enabled policy uses (Oliver 31 min, Chloe 44 min idle).
    await console.store.addPolicy("idle-30m", {
      name: "idle-30m",
      hosts: { kind: "all" },
      sessions: { minIdle: "30m" },
      action: "disconnect",
      schedule: { every: "1h" },
      enabled: true,
    });
    await console.scheduler.tick();
    console.history.checkIdle();
    console.history.checkIdle();
    await console.history.flush();
    const idle = await console.store.queryHistory({ host: ws1.fqdn, limit: 100 });
    assert.deepEqual(
      idle
        .filter((e) => e.kind === "idle")
        .map((e) => [e.sessionId, e.user, e.detail])
        .sort(),
      [
        [5, "LAB\\oliver.bennett", "30m"],
        [8, "LAB\\chloe.dubois", "30m"],
      ],
    );
    const sessionOn = (id: number) =>
      console.fleet.sessions().find((s) => s.host === ws1.fqdn && s.sessionId === id);
    ws1.backend.updateSession(16, { state: SessionState.ACTIVE, lastInputTime: new Date() });
    ws1.backend.updateSession(2, { locked: true });
    await waitForFleet(
      console.fleet,
      () => sessionOn(16)?.state === "ACTIVE" && sessionOn(2)?.locked === true,
    );
    ws1.backend.endLogon(3);
    await waitForFleet(console.fleet, () => sessionOn(3)?.user === "");
    await console.history.flush();
    const changes = await console.store.queryHistory({
      host: ws1.fqdn,
      limit: 100,
      from: new Date(Date.now() - 60_000),
    });
    const kinds = changes
      .filter((e) => e.kind !== "logon" && e.kind !== "idle")
      .map((e) => [e.sessionId, e.user, e.kind])
      .sort();
    assert.deepEqual(kinds, [
      [16, "LAB\\ethan.park", "connect"],
      [2, "LAB\\amelia.hughes", "lock"],
      [3, "LAB\\zoë.brennan", "logoff"],
    ]);
    // The disconnected session's history: since the console first saw it.
    assert.equal(console.history.disconnectedSince(ws1.fqdn, 16), undefined);

    // A host that goes away records no logoff; its sessions are not known to have ended.
    const ws2 = hosts[1];
    assert.ok(ws2 !== undefined);
    await ws2.agent.shutdown({ graceMs: 0 });
    await waitForFleet(console.fleet, () => console.fleet.host(ws2.fqdn)?.status !== "online");
    await console.history.flush();
    const ws2Events = await console.store.queryHistory({ host: ws2.fqdn, limit: 100 });
    assert.deepEqual(
      ws2Events.filter((e) => e.kind !== "logon" && e.kind !== "idle"),
      [],
    );
    assert.equal(ws2Events.filter((e) => e.kind === "logon").length, 16);
  });
});
