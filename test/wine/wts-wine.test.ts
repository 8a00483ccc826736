/**
 * The `wts` backend inside the Windows build of Node under Wine (DESIGN section 7): first against
 * Wine's own DLLs, then against the test `wtsapi32.dll` built from `fake-wtsapi32/`. The harness
 * runs in Windows Node and writes JSON; the assertions run here. Skipped, with the reason, when
 * Wine or the cached Windows Node is not there (`npm run test:wine` sets them up).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { MessageResponse, Outcome, SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { lockFlagReversed } from "../../agent/backends/wts.js";
import { MAX_SESSION_GROUPS } from "../../agent/sessions/backend.js";
import { win32ErrorMeaning } from "../../agent/sessions/win32-errors.js";
import { failure, output, value, type HarnessOutput } from "./harness-output.js";
import {
  buildFakeWtsapi32,
  bundleHarness,
  hasMingw,
  reportMissingTier,
  runHarness,
  wineTierMissing,
} from "./wine-env.js";

/** The process and session checks both scenarios share. */
function assertProcessFacts(result: HarnessOutput): void {
  assert.equal(typeof value(result, "processId"), "number");
  const own = value(result, "agentSessionId");
  assert.ok(Number.isInteger(own) && (own as number) >= 0, `agent session ${String(own)}`);
  assert.equal(value(result, "sessionOfOwnProcess"), own);
  // A process that does not exist has no session to report: an error, so rule 3 fails closed.
  assert.match(failure(result, "sessionOfMissingProcess").message, /does not exist any more/);
  // WTS_CURRENT_SESSION never reaches the OS: a plain Error, not a Win32Error.
  const current = failure(result, "disconnectCurrentSession");
  assert.equal(current.name, "Error");
  assert.equal(current.code, undefined);
  assert.match(current.message, /4294967295/);
}

/** Protection rule 3's lookup, against this process's own loopback connections. */
function assertPeerFacts(result: HarnessOutput): void {
  const pid = value(result, "processId");
  // GetExtendedTcpTable finds this process as the client of its own loopback connection, also
  // when the peer is spelled as an IPv4-mapped IPv6 address, and when only the agent's port is
  // known (a wildcard listener).
  assert.deepEqual(value(result, "ipv4PeerProcess"), [pid]);
  assert.deepEqual(value(result, "ipv4WildcardPeerProcess"), [pid]);
  assert.deepEqual(value(result, "ipv4MappedPeerProcess"), [pid]);
  // Swapped, the ends name the server's accepted socket: this process, or (Wine lists accepted
  // sockets without an owner) a failure that says so; never another process, never "nobody".
  const swapped = result.steps["ipv4SwappedPeerProcess"];
  if (swapped !== undefined && "error" in swapped) {
    assert.match(swapped.error.message, /owner 0/);
  } else {
    assert.deepEqual(value(result, "ipv4SwappedPeerProcess"), [pid]);
  }
  // Wine lists IPv6 connections without an owner; Windows names it. Either the right process or
  // a failure that says the owner is unknown (the agent then fails closed), never another one.
  const ipv6 = result.steps["ipv6PeerProcess"];
  if (ipv6 !== undefined && "error" in ipv6) {
    assert.match(ipv6.error.message, /owner 0/);
  } else if (ipv6 !== undefined) {
    assert.deepEqual(value(result, "ipv6PeerProcess"), [pid]);
  }
}

/** `FT_NOW` of `fake-wtsapi32.c`: the current time its sessions report. */
const FAKE_NOW_MS = Date.parse("2026-11-24T09:30:00Z");

/** The fixture of `fake-wtsapi32.c`, as the backend must report it. */
const fixture = [
  session(0, SessionState.DISCONNECTED, "Services"),
  // The console reports LastInputTime = CurrentTime while connected: its idle time is unknown.
  session(1, SessionState.ACTIVE, "Console", "zoë", "CLASSROOM", "", "2026-11-24T08:00:00.000Z"),
  session(2, SessionState.CONNECTED, "Station 2"),
  session(3, SessionState.CONNECT_QUERY, "RDP-Tcp#3", "", "", "ÉCOLE-PC-ß"),
  session(
    4,
    SessionState.SHADOW,
    "RDP-Tcp#4",
    "teacher",
    "CLASSROOM",
    "T-LAPTOP",
    "2026-11-24T08:00:00.000Z",
    0,
  ),
  // Disconnected and locked (WTSINFOEX_LEVEL1_W SessionFlags WTS_SESSIONSTATE_LOCK).
  {
    ...session(
      5,
      SessionState.DISCONNECTED,
      "RDP-Tcp#5",
      "Józef",
      "ŁÓDŹ",
      "",
      "2026-11-24T08:00:00.000Z",
      3_600_000,
    ),
    locked: true,
  },
  session(6, SessionState.IDLE, "Station 6"),
  session(7, SessionState.RESET, "Station 7"),
  session(8, SessionState.DOWN, "Station 8"),
  session(9, SessionState.INIT, "Station 9"),
  // A 20-character user name fills WTSINFOW.UserName; the client name has a surrogate pair. A
  // MultiPoint station is local, console-type: idle unknown.
  session(
    12,
    SessionState.ACTIVE,
    "Station 12",
    "abcdefghijklmnopqrst",
    "ABCDEFGHIJKLMNO",
    "😀PC",
    "2026-11-24T08:01:00.000Z",
  ),
  // Names longer than WTSINFOW holds (20 and 17), read whole from WTSUserName / WTSDomainName.
  session(
    13,
    SessionState.ACTIVE,
    "RDP-Tcp#13",
    "anne-sophie.van-den-berghe",
    "CLASSROOM-NORTH-WING",
    "LAB-LAPTOP-07",
    "2026-11-24T08:02:00.000Z",
    42_000,
  ),
  session(65536, SessionState.LISTEN, "RDP-Tcp"),
];

function session(
  sessionId: number,
  state: SessionState,
  stationName: string,
  userName = "",
  domainName = "",
  clientName = "",
  logonTime: string | null = null,
  idleMs: number | null = null,
) {
  // The DLL's clock stands at FT_NOW; a session's last input is that long before it.
  const lastInputTime = idleMs === null ? null : new Date(FAKE_NOW_MS - idleMs).toISOString();
  const locked = false;
  return {
    sessionId,
    state,
    userName,
    domainName,
    stationName,
    clientName,
    logonTime,
    lastInputTime,
    locked,
  };
}

/**
 * A listing without the groups (Wine's own, read from the process token the test DLL hands out
 * as every user's: checked on their own).
 */
function withoutGroups(list: unknown): unknown {
  return (list as Record<string, unknown>[]).map((entry) => {
    const copy = { ...entry };
    delete copy["groups"];
    return copy;
  });
}

const missing = wineTierMissing();

void describe("wts backend under Wine", () => {
  if (reportMissingTier(missing, "runs the wts backend inside Windows Node")) return;

  let harness = "";
  before(async () => {
    harness = await bundleHarness();
  });

  void describe("against Wine's own wtsapi32", () => {
    let result: HarnessOutput;
    before(() => {
      result = output(runHarness(harness, "builtin"));
    });

    void it("loads through koffi's Windows binary and names itself", () => {
      assert.equal(value(result, "name"), "wts");
    });

    void it("reports the agent's session and that of a process, and none for a missing process", () => {
      assertProcessFacts(result);
    });

    void it("finds the process at the other end of a loopback connection (GetExtendedTcpTable)", () => {
      assertPeerFacts(result);
    });

    void it("lists no sessions (Wine has none) and is healthy", () => {
      assert.deepEqual(value(result, "listSessions"), []);
      assert.equal(value(result, "healthy"), true);
    });

    void it("goes through the disconnect path without crashing", () => {
      // Wine's WTSDisconnectSession is a stub that answers TRUE.
      assert.equal(value(result, "disconnectOwnNoWait"), null);
      assert.equal(value(result, "disconnectMissingWait"), null);
    });
  });

  void describe("against the test wtsapi32.dll", () => {
    if (!hasMingw()) {
      void it("serves a fixture through the real ABI", (t) => {
        t.skip("skipped: gcc-mingw-w64 is not installed (apt-get install -y gcc-mingw-w64)");
      });
      return;
    }

    let result: HarnessOutput;
    before(() => {
      const nodeExe = buildFakeWtsapi32();
      result = output(
        runHarness(harness, "fake", {
          nodeExe,
          env: { WINEDLLOVERRIDES: "mscoree,mshtml=;wtsapi32=n" },
        }),
      );
    });

    void it("decodes the same WTSINFOW layout as the C compiler lays out", () => {
      // Offsets parseWtsInfo relies on: UserName at 130, LastInputTime at 192, 216 bytes in all.
      assert.deepEqual(value(result, "layout"), { size: 216, user: 130, lastInput: 192, row: 24 });
    });

    void it("lists all ten states, with non-ASCII and long names, logon and idle times", () => {
      assert.deepEqual(withoutGroups(value(result, "listSessions")), fixture);
      const states = new Set(fixture.map((s) => s.state));
      assert.equal(states.size, 10);
    });

    void it("agrees with itself when lists run at once on koffi's worker threads", () => {
      assert.deepEqual(value(result, "concurrentLists"), Array(16).fill(fixture.length));
    });

    void it("leaves out a session that ends between enumeration and query (2 and 7022)", () => {
      const without = (id: number) => fixture.filter((s) => s.sessionId !== id);
      assert.deepEqual(withoutGroups(value(result, "queryVanished2")), without(3));
      assert.deepEqual(withoutGroups(value(result, "queryVanished7022")), without(4));
    });

    void it("knows no idle time for console-type sessions (console, stations): never guessed", () => {
      const list = value(result, "listSessions") as typeof fixture;
      for (const id of [1, 12]) {
        assert.equal(list.find((s) => s.sessionId === id)?.lastInputTime, null, `session ${id}`);
      }
      // Disconnected, the console reports LastInputTime 0: still unknown, not 150 000 days.
      const after = value(result, "listAfterDisconnect") as typeof fixture;
      assert.equal(after.find((s) => s.sessionId === 1)?.lastInputTime, null);
      assert.equal(
        after.find((s) => s.sessionId === 13)?.lastInputTime,
        new Date(FAKE_NOW_MS - 42_000).toISOString(),
      );
    });

    void it("degrades one session whose query fails with an unexpected code, not the list", () => {
      const list = withoutGroups(value(result, "queryFails5")) as (ReturnType<typeof session> & {
        note?: string;
      })[];
      assert.equal(list.length, fixture.length);
      const degraded = list.find((s) => s.sessionId === 5);
      assert.deepEqual(
        { ...degraded, note: undefined },
        { ...session(5, SessionState.DISCONNECTED, "RDP-Tcp#5"), note: undefined },
      );
      assert.match(
        degraded?.note ?? "",
        /^details unknown: WTSQuerySessionInformationW\(5, 24\) failed: access denied \(5\)$/,
      );
      for (const other of list.filter((s) => s.sessionId !== 5))
        assert.equal(other.note, undefined);
      assert.deepEqual(
        list.filter((s) => s.sessionId !== 5),
        fixture.filter((s) => s.sessionId !== 5),
      );
    });

    void it("reads each user's groups from the user's token (WTSQueryUserToken, TokenGroups, LookupAccountSidW), as DOMAIN\\Group names", () => {
      const list = value(result, "listSessions") as (ReturnType<typeof session> & {
        groups?: string[] | null;
      })[];
      for (const entry of list) {
        if (entry.userName === "") {
          assert.equal(entry.groups ?? null, null, `session ${entry.sessionId}: nobody, no groups`);
          continue;
        }
        const groups = entry.groups ?? [];
        assert.ok(groups.length > 0, `session ${entry.sessionId}: groups ${String(entry.groups)}`);
        assert.deepEqual(groups, [...groups].sort(), "sorted");
        assert.ok(groups.length <= MAX_SESSION_GROUPS);
        // Wine's token has the well-known groups of a Windows user, named by LookupAccountSidW.
        assert.ok(groups.includes("BUILTIN\\Users"), groups.join(", "));
      }
    });

    void it("reports a user's groups unknown, with a note, when the token cannot be read: not a failed list", () => {
      const list = value(result, "tokenFails5") as (ReturnType<typeof session> & {
        groups?: string[] | null;
        note?: string | null;
      })[];
      assert.equal(list.length, fixture.length);
      const five = list.find((s) => s.sessionId === 5);
      assert.equal(five?.groups ?? null, null);
      assert.equal(five?.userName, "Józef");
      assert.match(
        five?.note ?? "",
        /^groups unknown: WTSQueryUserToken\(5\) failed: access denied \(5\)$/,
      );
      for (const other of list.filter((s) => s.sessionId !== 5 && s.userName !== "")) {
        assert.ok((other.groups ?? []).length > 0, `session ${other.sessionId}`);
      }
    });

    void it("throws Win32Error with GetLastError's code, mapped by win32-errors.ts", () => {
      const expectations: [string, number, Outcome, { retryable?: boolean; down?: boolean }][] = [
        ["disconnect7022", 7022, Outcome.NOT_FOUND, {}],
        ["disconnectUnknown", 7022, Outcome.NOT_FOUND, {}],
        ["disconnect2", 2, Outcome.NOT_FOUND, {}],
        ["disconnect5", 5, Outcome.FAILED, {}],
        ["disconnect7007", 7007, Outcome.FAILED, { retryable: true }],
        ["disconnect1722", 1722, Outcome.FAILED, { down: true }],
        ["enumerate1722", 1722, Outcome.FAILED, { down: true }],
        ["enumerate5", 5, Outcome.FAILED, {}],
        ["query1722", 1722, Outcome.FAILED, { down: true }],
      ];
      for (const [name, code, outcome, flags] of expectations) {
        const error = failure(result, name);
        assert.equal(error.name, "Win32Error", name);
        assert.equal(error.code, code, name);
        const meaning = win32ErrorMeaning(code);
        assert.equal(meaning.outcome, outcome, name);
        assert.equal(meaning.retryable, flags.retryable ?? false, name);
        assert.equal(meaning.backendUnavailable, flags.down ?? false, name);
        assert.ok(error.message.includes(meaning.message), `${name}: ${error.message}`);
      }
    });

    void it("is unhealthy while Remote Desktop Services cannot be reached (1722), healthy after", () => {
      assert.equal(value(result, "healthy"), true);
      assert.equal(value(result, "health1722"), false);
      assert.equal(value(result, "healthyAfter"), true);
    });

    void it("disconnects with bWait as asked, and the session then shows DISCONNECTED", () => {
      assert.equal(value(result, "disconnect1Wait"), null);
      assert.deepEqual(
        pick(value(result, "afterDisconnect1"), ["lastDisconnectId", "lastDisconnectWait"]),
        { lastDisconnectId: 1, lastDisconnectWait: 1 },
      );
      assert.equal(value(result, "disconnect12NoWait"), null);
      assert.deepEqual(
        pick(value(result, "afterDisconnect12"), ["lastDisconnectId", "lastDisconnectWait"]),
        { lastDisconnectId: 12, lastDisconnectWait: 0 },
      );
      const after = value(result, "listAfterDisconnect") as typeof fixture;
      for (const id of [1, 12]) {
        assert.equal(after.find((s) => s.sessionId === id)?.state, SessionState.DISCONNECTED);
      }
    });

    void it("never sends WTS_CURRENT_SESSION to the DLL", () => {
      const stats = value(result, "stats") as Record<string, number>;
      assert.equal(stats["currentSessionDisconnects"], 0);
    });

    void it("frees every buffer the API allocated, once", () => {
      const stats = value(result, "stats") as Record<string, number>;
      assert.ok((stats["allocations"] ?? 0) > 100, `allocations ${stats["allocations"]}`);
      assert.equal(stats["frees"], stats["allocations"]);
      assert.equal(stats["badFrees"], 0);
    });

    void it("reads the lock flag from WTSINFOEX_LEVEL1_W at the compiler's offset", () => {
      assert.deepEqual(value(result, "layoutEx"), { size: 232, sessionFlags: 16 });
      // Wine reports a version after Windows 7, where 0 is WTS_SESSIONSTATE_LOCK.
      assert.equal(lockFlagReversed(value(result, "osRelease") as string), false);
      // 5 was locked from the start; the DLL locks 1 and 12 when the test disconnects them.
      assert.deepEqual(value(result, "locks"), [1, 5, 12]);
    });

    void it("sends a message with title and text whole (lengths in bytes), each answer mapped", () => {
      assert.equal(value(result, "messageNoWait"), MessageResponse.NOT_WAITED);
      const title = "Ms Żabińska 😀";
      const text = "Save your work: the room closes in 5 minutes.";
      const seen = { title, text, titleBytes: title.length * 2, messageBytes: text.length * 2 };
      // MB_YESNO (4), a 30 s timeout, bWait as asked.
      assert.deepEqual(value(result, "messageNoWaitSeen"), {
        ...seen,
        style: 4,
        timeout: 30,
        wait: 0,
      });
      assert.equal(value(result, "messageTimeout"), MessageResponse.TIMEOUT); // IDTIMEOUT 32000
      assert.deepEqual(value(result, "messageTimeoutSeen"), {
        ...seen,
        style: 4,
        timeout: 30,
        wait: 1,
      });
      assert.equal(value(result, "messageYes"), MessageResponse.YES);
      assert.equal(failure(result, "message7007").code, 7007);
      assert.equal(failure(result, "messageMissing").code, 7022);
    });

    void it("logs a session off through WTSLogoffSession, Win32 errors as they come", () => {
      assert.equal(value(result, "logoff13"), null);
      const after = value(result, "afterLogoff13") as { state: number; userName: string };
      assert.equal(after.state, SessionState.CONNECTED);
      assert.equal(after.userName, "");
      assert.equal(failure(result, "logoffListener").code, 7045);
      assert.equal(failure(result, "logoffMissing").code, 7022);
      assert.equal(failure(result, "logoff5").code, 5);
    });

    void it("hears session events through WTSWaitSystemEvent on a worker thread", () => {
      assert.equal(value(result, "heardLogoff"), 1);
      assert.equal(value(result, "heardRaised"), 2);
    });

    void it("flushes the waiting thread when the last listener leaves, and when closed", () => {
      assert.deepEqual(value(result, "eventsAfterStop"), {
        started: 3,
        returned: 3,
        flushes: 1,
        pending: 0,
      });
      // close() returned, so it did not hang on the wait it flushed.
      assert.deepEqual(value(result, "eventsAfterClose"), {
        started: 4,
        returned: 4,
        flushes: 2,
        pending: 0,
      });
    });

    void it("refuses calls once closed", () => {
      assert.match(failure(result, "closeThenList").message, /closed/);
    });

    void it("reports the agent's session and that of a process through the same kernel32", () => {
      assertProcessFacts(result);
    });
  });
});

function pick(object: unknown, keys: string[]): Record<string, unknown> {
  const source = object as Record<string, unknown>;
  return Object.fromEntries(keys.map((key) => [key, source[key]]));
}
