/**
 * What `wmsctl watch` prints from the controller's watch events: ndjson records (a change says
 * what it was before; a retry that fails as the last one did is no new line) and the live table
 * (idle time counted from the last input; cut to the terminal, with the latest events under it).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WatchView } from "../../controller/cli/watch-view.js";
import type { WatchEvent } from "../../controller/index.js";
import { Session, SessionState } from "../../proto/gen/wms/v1/wms_session.js";

const H1 = "h1.lab.example.com";
const H2 = "h2.lab.example.com";
const T0 = Date.parse("2025-03-03T10:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const base = (host: string, seconds: number) => ({
  host,
  address: `${host}:50061`,
  time: at(seconds),
});

const amelia = Session.fromPartial({
  sessionId: 2,
  state: SessionState.ACTIVE,
  userName: "amelia",
  domainName: "LAB",
  stationName: "Station 1",
  lastInputTime: at(-90),
  idleTime: { seconds: 1, nanos: 0 },
});

function events(): WatchEvent[] {
  return [
    { kind: "connected", ...base(H1, 0), reconnected: false },
    { kind: "snapshot", ...base(H1, 0), cause: "initial", revision: 7, sessions: [amelia] },
    {
      kind: "disconnected",
      ...base(H2, 1),
      status: "unreachable",
      code: "UNAVAILABLE",
      message: "No connection established",
      wasConnected: false,
      failures: 1,
      retryInMs: 400,
    },
    {
      kind: "disconnected",
      ...base(H2, 2),
      status: "unreachable",
      code: "UNAVAILABLE",
      message: "No connection established",
      wasConnected: false,
      failures: 2,
      retryInMs: 900,
    },
    {
      kind: "changes",
      ...base(H1, 3),
      revision: 8,
      changes: [
        {
          kind: 2,
          revision: 8,
          session: { ...amelia, state: SessionState.DISCONNECTED, locked: true },
        },
      ],
    },
    { kind: "heartbeat", ...base(H1, 4), revision: 8 },
  ];
}

void describe("wmsctl watch output", () => {
  void it("makes one ndjson record per connection change and session change", () => {
    const view = new WatchView([H1, H2]);
    const records = events().flatMap((event) => view.apply(event, T0 + 5000));
    assert.deepEqual(
      records.map((r) => [r.host, r.event]),
      [
        [H1, "connected"],
        [H1, "snapshot"],
        [H2, "disconnected"],
        [H1, "changed"],
      ],
      "the second identical failure and the heartbeat are no lines",
    );
    const snapshot = records[1];
    assert.ok(snapshot?.event === "snapshot");
    assert.equal(snapshot.sessions[0]?.idleSeconds, 95, "idle time from the last input, now");
    const changed = records[3];
    assert.ok(changed?.event === "changed");
    assert.equal(changed.time, "2025-03-03T10:00:03.000Z");
    assert.equal(changed.revision, 8);
    assert.equal(changed.session.state, "DISCONNECTED");
    assert.deepEqual(changed.was, { state: "ACTIVE", locked: false });
  });

  void it("draws the table with each host's state, cut to the terminal, and the latest events", () => {
    const view = new WatchView([H1, H2]);
    for (const event of events()) view.apply(event, T0 + 5000);
    const screen = view.render(T0 + 5000, 50, 200).split("\n");
    assert.match(screen[0] ?? "", /^2 hosts: 1 connected, 1 unreachable · 1 sessions · /);
    assert.match(screen[1] ?? "", /^HOST\s+ID\s+STATE\s+USER\s+STATION\s+CLIENT\s+IDLE\s+LOCKED$/);
    assert.match(
      screen[2] ?? "",
      /^h1\.lab\.example\.com\s+2\s+DISCONNECTED\s+LAB\\amelia\s+Station 1\s+1m35s\s+locked$/,
    );
    assert.match(screen[3] ?? "", /^h2\.lab\.example\.com\s+\(unreachable\)$/);
    assert.ok(
      screen.some((line) =>
        / h2\.lab\.example\.com {2}unreachable: UNAVAILABLE: No connection established; retrying in 1s$/.test(
          line,
        ),
      ),
    );
    assert.ok(
      screen.some((line) =>
        / h1\.lab\.example\.com {2}session 2 LAB\\amelia: ACTIVE → DISCONNECTED, locked$/.test(
          line,
        ),
      ),
    );
    const full = new WatchView([H1]);
    const many = Array.from({ length: 20 }, (_, i) => ({ ...amelia, sessionId: i + 1 }));
    full.apply(
      { kind: "snapshot", ...base(H1, 0), cause: "initial", revision: 1, sessions: many },
      T0,
    );
    const small = full.render(T0, 8, 30).split("\n");
    assert.ok(small.length <= 7, `fits ${small.length} lines, the last one left for the cursor`);
    assert.ok(small.every((line) => [...line].length <= 30));
    assert.match(small.at(-1) ?? "", /^… 16 more sessions/);
  });

  void it("says unknown for a user whose input the host does not track, as get does", () => {
    const view = new WatchView([H1]);
    const teacher = Session.fromPartial({
      sessionId: 1,
      state: SessionState.ACTIVE,
      userName: "teacher",
      domainName: "LAB",
      stationName: "Console",
    });
    const listener = Session.fromPartial({ sessionId: 65536, state: SessionState.LISTEN });
    view.apply({ kind: "connected", ...base(H1, 0), reconnected: false }, T0);
    view.apply(
      {
        kind: "snapshot",
        ...base(H1, 0),
        cause: "initial",
        revision: 1,
        sessions: [teacher, listener],
      },
      T0,
    );
    const screen = view.render(T0, 50, 200).split("\n");
    assert.match(
      screen[2] ?? "",
      /^h1\.lab\.example\.com\s+1\s+ACTIVE\s+LAB\\teacher\s+Console\s+unknown$/,
    );
    assert.match(screen[3] ?? "", /^h1\.lab\.example\.com\s+65536\s+LISTEN$/);
  });
});
