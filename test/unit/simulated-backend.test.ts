import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { Win32Error } from "../../agent/sessions/backend.js";
import type { SimFixture, SimSession } from "../../agent/backends/sim-fixture.js";
import {
  createSimulatedBackend,
  SIM_SESSION_ENV,
  type SimulatedBackend,
  type SimulatedBackendOptions,
} from "../../agent/backends/simulated.js";
import { createManualClock } from "../../agent/backends/sim-clock.js";
import {
  MessageButtons,
  MessageResponse,
  SessionState,
} from "../../proto/gen/wms/v1/wms_session.js";

const LOGON = new Date("2026-03-10T08:41:05Z");

/** A small host: services, a console user, a remote user with a client, a listener, a dead one. */
const HOST: SimFixture = {
  agentSessionId: 1,
  sessions: [
    { sessionId: 65536, state: SessionState.LISTEN, stationName: "RDP-Tcp" },
    { sessionId: 0, state: SessionState.DISCONNECTED, stationName: "Services" },
    {
      sessionId: 1,
      state: SessionState.ACTIVE,
      userName: "m.okafor",
      domainName: "LAB",
      stationName: "Console",
      logonTime: LOGON,
    },
    {
      sessionId: 4,
      state: SessionState.ACTIVE,
      userName: "zoë.brennan",
      domainName: "LAB",
      stationName: "RDP-Tcp#4",
      clientName: "LAB-LT-07",
      logonTime: LOGON,
      idleSeconds: 0.5,
    },
    { sessionId: 7, state: SessionState.DOWN, stationName: "Station 6" },
    { sessionId: 8, state: SessionState.INIT, stationName: "Station 7" },
    { sessionId: 9, state: SessionState.RESET, stationName: "Station 8" },
    { sessionId: 10, state: SessionState.CONNECTED, stationName: "Station 9" },
  ],
};

function backendFor(
  t: TestContext,
  // A clock that stands still, so that two listings agree to the millisecond.
  options: SimulatedBackendOptions = { fixture: HOST, now: () => 0 },
): SimulatedBackend {
  const backend = createSimulatedBackend(options);
  t.after(() => backend.close());
  return backend;
}

async function stateOf(backend: SimulatedBackend, sessionId: number): Promise<SessionState> {
  const session = (await backend.listSessions()).find((s) => s.sessionId === sessionId);
  assert.ok(session, `session ${sessionId} is listed`);
  return session.state;
}

/** Asserts a promise rejects with a `Win32Error` of `code` and returns the error. */
async function rejectsWin32(promise: Promise<unknown>, code: number): Promise<Win32Error> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return error instanceof Win32Error && error.code === code;
  });
  return caught as Win32Error;
}

/** Lets every callback already due run: settles promises without waiting for time to pass. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

void describe("simulated backend: listing", () => {
  void it("loads the shipped classroom by default", async (t) => {
    const backend = backendFor(t, { now: () => 0 });
    assert.equal(backend.name, "simulated");
    const sessions = await backend.listSessions();
    assert.ok(sessions.length >= 17);
    assert.deepEqual(sessions[0], {
      sessionId: 0,
      state: SessionState.DISCONNECTED,
      userName: "",
      domainName: "",
      stationName: "Services",
      clientName: "",
      logonTime: undefined,
      lastInputTime: undefined,
      locked: false,
    });
    assert.equal(sessions.at(-1)?.state, SessionState.LISTEN);
    assert.equal(await backend.isHealthy(), true);
  });

  void it("lists sessions in id order with every field", async (t) => {
    const backend = backendFor(t, { fixture: HOST, now: () => 1_000 });
    const sessions = await backend.listSessions();
    assert.deepEqual(
      sessions.map((s) => s.sessionId),
      [0, 1, 4, 7, 8, 9, 10, 65536],
    );
    assert.deepEqual(sessions[2], {
      sessionId: 4,
      state: SessionState.ACTIVE,
      userName: "zoë.brennan",
      domainName: "LAB",
      stationName: "RDP-Tcp#4",
      clientName: "LAB-LT-07",
      logonTime: LOGON,
      lastInputTime: new Date(500),
      locked: false,
      groups: [],
    });
  });

  void it("returns copies the caller cannot use to change the host", async (t) => {
    const backend = backendFor(t);
    const first = await backend.listSessions();
    const console = first[1];
    assert.ok(console?.logonTime);
    console.logonTime.setTime(0);
    (console as { state: SessionState }).state = SessionState.DOWN;
    first.reverse();
    const again = await backend.listSessions();
    assert.equal(again[0]?.sessionId, 0);
    assert.equal(again[1]?.state, SessionState.ACTIVE);
    assert.deepEqual(again[1]?.logonTime, LOGON);
  });

  void it("turns idleSeconds into a last input time with the clock at load, which then stays", async (t) => {
    let clock = 5_000_000;
    const backend = backendFor(t, { fixture: HOST, now: () => clock });
    const lastInputs = async (): Promise<(number | undefined)[]> =>
      (await backend.listSessions()).map((s) => s.lastInputTime?.getTime());
    // The console's is unknown, as Windows reports it; the remote session's is its idleSeconds.
    const expected = [
      undefined,
      undefined,
      5_000_000 - 500,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ];
    assert.deepEqual(await lastInputs(), expected);
    clock += 61_250;
    // Idle time grows for whoever reads it; the session itself does not change.
    assert.deepEqual(await lastInputs(), expected);
  });

  void it("waits listLatencyMs before answering", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const backend = backendFor(t, { fixture: { ...HOST, listLatencyMs: 40 } });
    let listed = false;
    const listing = backend.listSessions().then((sessions) => {
      listed = true;
      return sessions;
    });
    await settle();
    assert.equal(listed, false);
    t.mock.timers.tick(39);
    await settle();
    assert.equal(listed, false);
    t.mock.timers.tick(1);
    assert.equal((await listing).length, 8);
    backend.setListLatencyMs(0);
    assert.equal((await backend.listSessions()).length, 8);
    assert.throws(() => backend.setListLatencyMs(-1), TypeError);
  });

  void it("is unavailable while Remote Desktop Services is stopped", async (t) => {
    const backend = backendFor(t);
    backend.setAvailable(false);
    assert.equal(await backend.isHealthy(), false);
    const error = await rejectsWin32(backend.listSessions(), 1722);
    assert.match(error.message, /RPC server is unavailable/);
    await rejectsWin32(backend.disconnectSession(1, { wait: true }), 1722);
    assert.equal(await stateOfWhenAvailable(backend, 1), SessionState.ACTIVE);
  });
});

async function stateOfWhenAvailable(
  backend: SimulatedBackend,
  sessionId: number,
): Promise<SessionState> {
  backend.setAvailable(true);
  assert.equal(await backend.isHealthy(), true);
  return stateOf(backend, sessionId);
}

void describe("simulated backend: disconnecting", () => {
  void it("disconnects a session as Windows does, clearing its client name", async (t) => {
    const backend = backendFor(t);
    const before = await backend.listSessions();
    await backend.disconnectSession(4, { wait: true });
    const after = await backend.listSessions();
    const remote = after.find((s) => s.sessionId === 4);
    assert.equal(remote?.state, SessionState.DISCONNECTED);
    assert.equal(remote.clientName, "");
    assert.equal(remote.userName, "zoë.brennan");
    assert.equal(remote.stationName, "RDP-Tcp#4");
    assert.deepEqual(
      after.filter((s) => s.sessionId !== 4),
      before.filter((s) => s.sessionId !== 4),
    );
    assert.deepEqual(backend.disconnectCalls(), [{ sessionId: 4, wait: true }]);
  });

  void it("succeeds on a session that is already disconnected", async (t) => {
    const backend = backendFor(t);
    await backend.disconnectSession(0, { wait: true });
    await backend.disconnectSession(1, { wait: false });
    await backend.disconnectSession(1, { wait: true });
    assert.equal(await stateOf(backend, 0), SessionState.DISCONNECTED);
    assert.equal(await stateOf(backend, 1), SessionState.DISCONNECTED);
    assert.equal(await stateOf(backend, 10), SessionState.CONNECTED);
  });

  void it("refuses unknown sessions with 7022 and recording the call", async (t) => {
    const backend = backendFor(t);
    const error = await rejectsWin32(backend.disconnectSession(3, { wait: true }), 7022);
    assert.match(
      error.message,
      /^WTSDisconnectSession\(3\): The specified session cannot be found\./,
    );
    await rejectsWin32(backend.disconnectSession(4294967295, { wait: false }), 7022);
    assert.deepEqual(backend.disconnectCalls(), [
      { sessionId: 3, wait: true },
      { sessionId: 4294967295, wait: false },
    ]);
  });

  void it("refuses listeners and sessions that are down, initialising or resetting with 7045", async (t) => {
    const backend = backendFor(t);
    for (const sessionId of [65536, 7, 8, 9]) {
      for (const wait of [true, false]) {
        await rejectsWin32(backend.disconnectSession(sessionId, { wait }), 7045);
      }
    }
    const states = (await backend.listSessions()).map((s) => s.state);
    assert.deepEqual(
      states,
      HOST.sessions
        .slice()
        .sort((a, b) => a.sessionId - b.sessionId)
        .map((s) => s.state),
    );
  });

  void it("does not hand out its call log for editing", async (t) => {
    const backend = backendFor(t);
    await backend.disconnectSession(1, { wait: true });
    const calls = backend.disconnectCalls() as { sessionId: number; wait: boolean }[];
    calls.length = 0;
    assert.equal(backend.disconnectCalls().length, 1);
  });

  void it("adds and removes sessions, as logons and logoffs", async (t) => {
    let clock = 0;
    const backend = backendFor(t, { fixture: HOST, now: () => clock });
    clock = 10_000;
    const added: SimSession = {
      sessionId: 5,
      state: SessionState.ACTIVE,
      userName: "józef.nowak",
      stationName: "RDP-Tcp#5",
      idleSeconds: 1,
    };
    backend.addSession(added);
    clock = 12_000;
    const listed = (await backend.listSessions()).find((s) => s.sessionId === 5);
    assert.equal(listed?.userName, "józef.nowak");
    assert.equal(listed.lastInputTime?.getTime(), 9_000);
    assert.throws(() => backend.addSession(added), TypeError);
    assert.throws(() => backend.addSession({ ...added, sessionId: 4294967295 }), TypeError);
    assert.throws(() => backend.addSession({ ...added, sessionId: 6, state: 0 }), TypeError);
    assert.equal(backend.removeSession(5), true);
    assert.equal(backend.removeSession(5), false);
    await rejectsWin32(backend.disconnectSession(5, { wait: true }), 7022);
  });

  void it("rejects fixtures it cannot simulate", () => {
    const one: SimSession = { sessionId: 3, state: SessionState.ACTIVE };
    assert.throws(() => createSimulatedBackend({ fixture: { sessions: [one, one] } }), TypeError);
    assert.throws(
      () => createSimulatedBackend({ fixture: { sessions: [{ ...one, sessionId: -1 }] } }),
      TypeError,
    );
    assert.throws(
      () =>
        createSimulatedBackend({ fixture: { sessions: [{ ...one, disconnectLatencyMs: -1 }] } }),
      TypeError,
    );
    assert.throws(
      () => createSimulatedBackend({ fixture: { sessions: [], listLatencyMs: Number.NaN } }),
      TypeError,
    );
  });
});

void describe("simulated backend: fault injection", () => {
  void it("fails every disconnect with the injected code until cleared", async (t) => {
    const backend = backendFor(t);
    backend.inject(4, { disconnectWin32Error: 5 });
    for (const wait of [true, false, true]) {
      const error = await rejectsWin32(backend.disconnectSession(4, { wait }), 5);
      assert.match(error.message, /Access is denied/);
    }
    assert.equal(await stateOf(backend, 4), SessionState.ACTIVE);
    backend.inject(4, {});
    await backend.disconnectSession(4, { wait: true });
    assert.equal(await stateOf(backend, 4), SessionState.DISCONNECTED);
  });

  void it("fails only the first disconnectFailTimes calls", async (t) => {
    const backend = backendFor(t);
    backend.inject(1, { disconnectWin32Error: 7024, disconnectFailTimes: 2 });
    await rejectsWin32(backend.disconnectSession(1, { wait: true }), 7024);
    await rejectsWin32(backend.disconnectSession(1, { wait: true }), 7024);
    await backend.disconnectSession(1, { wait: true });
    assert.equal(await stateOf(backend, 1), SessionState.DISCONNECTED);
    // Injecting again restarts the count.
    backend.inject(1, { disconnectWin32Error: 12345, disconnectFailTimes: 1 });
    const error = await rejectsWin32(backend.disconnectSession(1, { wait: true }), 12345);
    assert.match(error.message, /Win32 error 12345/);
    await backend.disconnectSession(1, { wait: true });
  });

  void it("takes injection from the fixture", async (t) => {
    const backend = backendFor(t, {
      fixture: {
        sessions: [
          {
            sessionId: 2,
            state: SessionState.ACTIVE,
            disconnectWin32Error: 7007,
            disconnectFailTimes: 1,
          },
        ],
      },
    });
    await rejectsWin32(backend.disconnectSession(2, { wait: true }), 7007);
    await backend.disconnectSession(2, { wait: true });
    assert.equal(await stateOf(backend, 2), SessionState.DISCONNECTED);
  });

  void it("checks injected values", (t) => {
    const backend = backendFor(t);
    assert.throws(() => backend.inject(1, { disconnectWin32Error: 0 }), TypeError);
    assert.throws(() => backend.inject(1, { disconnectWin32Error: 1.5 }), TypeError);
    assert.throws(() => backend.inject(1, { disconnectFailTimes: -1 }), TypeError);
    assert.throws(() => backend.inject(1, { disconnectLatencyMs: Infinity }), TypeError);
    assert.throws(() => backend.inject(1, { disconnectLatencyMs: 2 ** 31 }), TypeError);
  });
});

void describe("simulated backend: latency", () => {
  void it("waits disconnectLatencyMs before the session is disconnected", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const backend = backendFor(t);
    backend.inject(4, { disconnectLatencyMs: 100 });
    let done = false;
    const disconnecting = backend.disconnectSession(4, { wait: true }).then(() => {
      done = true;
    });
    t.mock.timers.tick(99);
    await settle();
    assert.equal(done, false);
    assert.equal(await stateOf(backend, 4), SessionState.ACTIVE);
    t.mock.timers.tick(1);
    await disconnecting;
    assert.equal(await stateOf(backend, 4), SessionState.DISCONNECTED);
  });

  void it("returns at once without waiting; the state changes when the latency elapses", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const backend = backendFor(t);
    backend.inject(4, { disconnectLatencyMs: 100 });
    await backend.disconnectSession(4, { wait: false });
    assert.equal(await stateOf(backend, 4), SessionState.ACTIVE);
    t.mock.timers.tick(100);
    assert.equal(await stateOf(backend, 4), SessionState.DISCONNECTED);
  });

  void it("joins concurrent disconnects of one session into one operation", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const backend = backendFor(t);
    backend.inject(4, {
      disconnectLatencyMs: 100,
      disconnectWin32Error: 7024,
      disconnectFailTimes: 1,
    });
    const first = backend.disconnectSession(4, { wait: true });
    const second = backend.disconnectSession(4, { wait: true });
    const third = backend.disconnectSession(4, { wait: false });
    await third;
    const failed = Promise.all([rejectsWin32(first, 7024), rejectsWin32(second, 7024)]);
    t.mock.timers.tick(100);
    await failed;
    // One failure was used up by the one operation: the next disconnect goes through.
    const retry = backend.disconnectSession(4, { wait: true });
    t.mock.timers.tick(100);
    await retry;
    assert.equal(await stateOf(backend, 4), SessionState.DISCONNECTED);
    assert.equal(backend.disconnectCalls().length, 4);
  });

  void it("lets a waiting call join a disconnect started without waiting", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const backend = backendFor(t);
    backend.inject(1, { disconnectLatencyMs: 50 });
    await backend.disconnectSession(1, { wait: false });
    let done = false;
    const waiting = backend.disconnectSession(1, { wait: true }).then(() => {
      done = true;
    });
    await settle();
    assert.equal(done, false);
    t.mock.timers.tick(50);
    await waiting;
    assert.equal(await stateOf(backend, 1), SessionState.DISCONNECTED);
  });

  void it("fails with 2 when the session logs off during the disconnect", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const backend = backendFor(t);
    backend.inject(4, { disconnectLatencyMs: 100 });
    const disconnecting = backend.disconnectSession(4, { wait: true });
    assert.equal(backend.removeSession(4), true);
    t.mock.timers.tick(100);
    await rejectsWin32(disconnecting, 2);
  });

  void it("releases waiters and timers on close", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const backend = createSimulatedBackend({ fixture: { ...HOST, listLatencyMs: 10 } });
    backend.inject(4, { disconnectLatencyMs: 100 });
    backend.inject(1, { disconnectLatencyMs: 100 });
    const waiting = backend.disconnectSession(4, { wait: true });
    await backend.disconnectSession(1, { wait: false });
    const released = Promise.all([
      rejectsWin32(waiting, 1722),
      rejectsWin32(backend.listSessions(), 1722),
    ]);
    await backend.close();
    await released;
    assert.equal(await backend.isHealthy(), false);
    await rejectsWin32(backend.listSessions(), 1722);
    await rejectsWin32(backend.disconnectSession(1, { wait: true }), 1722);
  });
});

void describe("simulated backend: processes and the agent's session", () => {
  async function fakeProc(t: TestContext, environs: Record<string, string>): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), "wmsfleet-sim-proc-"));
    t.after(() => rm(root, { recursive: true, force: true }));
    for (const [pid, environ] of Object.entries(environs)) {
      await mkdir(join(root, pid));
      await writeFile(join(root, pid, "environ"), environ);
    }
    await mkdir(join(root, "66")); // a process whose environ cannot be read
    return root;
  }

  void it("reads WMSFLEET_SIM_SESSION from a process's environment", async (t) => {
    const procRoot = await fakeProc(t, {
      10: "HOME=/home/zoe\0WMSFLEET_SIM_SESSION=4\0LANG=C.UTF-8\0",
      11: "WMSFLEET_SIM_SESSION=0\0",
      12: "WMSFLEET_SIM_SESSION=4294967294",
      20: "HOME=/root\0NOT_WMSFLEET_SIM_SESSION=3\0",
      21: "WMSFLEET_SIM_SESSION=\0",
      22: "WMSFLEET_SIM_SESSION=seven\0",
      23: "WMSFLEET_SIM_SESSION=-1\0",
      24: "WMSFLEET_SIM_SESSION=4294967295\0",
      25: "WMSFLEET_SIM_SESSION=99999999999\0",
      26: "WMSFLEET_SIM_SESSION=1.5\0",
      27: "WMSFLEET_SIM_SESSION= 3\0",
    });
    const backend = backendFor(t, { fixture: HOST, procRoot });
    assert.equal(await backend.sessionOfProcess(10), 4);
    assert.equal(await backend.sessionOfProcess(11), 0);
    assert.equal(await backend.sessionOfProcess(12), 4294967294);
    // No session: rule 3 protects nothing of theirs.
    for (const pid of [20, 21]) {
      assert.equal(await backend.sessionOfProcess(pid), undefined, `pid ${pid}`);
    }
    // Not a session id, gone, unreadable, not a pid: an error, so that rule 3 fails closed.
    for (const pid of [22, 23, 24, 25, 26, 27, 66, 404, 0, -1, 1.5, Number.NaN]) {
      await assert.rejects(backend.sessionOfProcess(pid), Error, `pid ${pid}`);
    }
  });

  void it(
    "reads a real process's environment",
    { skip: process.platform !== "linux" },
    async (t) => {
      const child = spawn(
        process.execPath,
        ["-e", "console.log('ready'); setInterval(() => {}, 1e9)"],
        {
          env: { ...process.env, [SIM_SESSION_ENV]: "12" },
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const exited = once(child, "exit");
      t.after(async () => {
        child.kill();
        await exited;
      });
      // Before exec, /proc/<pid>/environ is still the parent's: wait until the child runs.
      const [chunk] = (await once(child.stdout, "data")) as [Buffer];
      assert.equal(chunk.toString().trim(), "ready");
      const backend = backendFor(t);
      assert.ok(child.pid !== undefined);
      assert.equal(await backend.sessionOfProcess(child.pid), 12);
    },
  );

  void it("takes the agent's session from its environment, then the fixture, then 0", async (t) => {
    const withEnv = (env: Record<string, string>, fixture: SimFixture): SimulatedBackend =>
      backendFor(t, { fixture, env });
    assert.equal(await withEnv({ [SIM_SESSION_ENV]: "9" }, HOST).agentSessionId(), 9);
    assert.equal(await withEnv({ [SIM_SESSION_ENV]: "0" }, HOST).agentSessionId(), 0);
    assert.equal(await withEnv({ [SIM_SESSION_ENV]: "x" }, HOST).agentSessionId(), 1);
    assert.equal(await withEnv({}, HOST).agentSessionId(), 1);
    assert.equal(await withEnv({}, { sessions: [] }).agentSessionId(), 0);
    const env: Record<string, string> = {};
    const live = withEnv(env, { sessions: [] });
    env[SIM_SESSION_ENV] = "3";
    assert.equal(await live.agentSessionId(), 3);
  });
});

void describe("simulated backend: logging off", () => {
  void it("ends a remote session and brings a station back to its logon screen", async (t) => {
    const backend = backendFor(t);
    await backend.logoffSession(4, { wait: true });
    await backend.logoffSession(1, { wait: false });
    const sessions = await backend.listSessions();
    assert.equal(
      sessions.find((s) => s.sessionId === 4),
      undefined,
      "RDP-Tcp#4 is gone",
    );
    assert.deepEqual(
      sessions.find((s) => s.sessionId === 1),
      {
        sessionId: 1,
        state: SessionState.CONNECTED,
        userName: "",
        domainName: "",
        stationName: "Console",
        clientName: "",
        logonTime: undefined,
        lastInputTime: undefined,
        locked: false,
      },
    );
    assert.deepEqual(backend.logoffCalls(), [
      { sessionId: 4, wait: true },
      { sessionId: 1, wait: false },
    ]);
    assert.deepEqual(backend.disconnectCalls(), []);
  });

  void it("refuses as Windows does: 7022 unknown, 7045 listener, down, init, reset; 1722 stopped", async (t) => {
    const backend = backendFor(t);
    const error = await rejectsWin32(backend.logoffSession(3, { wait: true }), 7022);
    assert.match(error.message, /^WTSLogoffSession\(3\): The specified session cannot be found\./);
    for (const sessionId of [65536, 7, 8, 9]) {
      await rejectsWin32(backend.logoffSession(sessionId, { wait: true }), 7045);
    }
    backend.setAvailable(false);
    await rejectsWin32(backend.logoffSession(1, { wait: true }), 1722);
  });

  void it("fails with the injected code, the first logoffFailTimes times", async (t) => {
    const backend = backendFor(t);
    backend.inject(1, { logoffWin32Error: 7024, logoffFailTimes: 1 });
    await rejectsWin32(backend.logoffSession(1, { wait: true }), 7024);
    await backend.logoffSession(1, { wait: true });
    assert.equal(await stateOf(backend, 1), SessionState.CONNECTED);
  });

  void it("takes logoffLatencyMs, and a disconnect under way fails with 2 when the user is logged off", async (t) => {
    const clock = createManualClock();
    const backend = backendFor(t, { fixture: HOST, clock });
    backend.inject(1, { logoffLatencyMs: 100, disconnectLatencyMs: 200 });
    const disconnecting = backend.disconnectSession(1, { wait: true });
    const loggingOff = backend.logoffSession(1, { wait: true });
    clock.advance(99);
    assert.equal(await stateOf(backend, 1), SessionState.ACTIVE);
    clock.advance(1);
    await loggingOff;
    assert.equal(await stateOf(backend, 1), SessionState.CONNECTED);
    clock.advance(100);
    await rejectsWin32(disconnecting, 2);
  });
});

void describe("simulated backend: messages", () => {
  const box = {
    title: "Lab",
    text: "Save your work",
    buttons: MessageButtons.YES_NO,
    timeoutSeconds: 30,
    wait: true,
  };

  void it("answers NOT_WAITED at once without waiting", async (t) => {
    const backend = backendFor(t);
    assert.equal(
      await backend.sendMessage(1, { ...box, wait: false, timeoutSeconds: undefined }),
      MessageResponse.NOT_WAITED,
    );
    assert.deepEqual(backend.messageCalls(), [
      { sessionId: 1, ...box, wait: false, timeoutSeconds: undefined },
    ]);
  });

  void it("waits for the injected answer, which is input; or the timeout when nobody answers", async (t) => {
    const clock = createManualClock();
    const backend = backendFor(t, { fixture: HOST, clock });
    backend.inject(4, { messageResponse: MessageResponse.NO, messageResponseDelayMs: 2_000 });
    backend.inject(1, { messageResponse: MessageResponse.YES, messageResponseDelayMs: 2_000 });
    const start = clock.now();
    const answered = backend.sendMessage(4, box);
    const atConsole = backend.sendMessage(1, box);
    const unanswered = backend.sendMessage(10, { ...box, timeoutSeconds: 30 });
    clock.advance(2_000);
    assert.equal(await answered, MessageResponse.NO);
    assert.equal(await atConsole, MessageResponse.YES);
    const listed = new Map((await backend.listSessions()).map((s) => [s.sessionId, s]));
    assert.equal(listed.get(4)?.lastInputTime?.getTime(), start + 2_000);
    // The console's input is not tracked: an answer there leaves its idle time unknown.
    assert.equal(listed.get(1)?.lastInputTime, undefined);
    clock.advance(28_000);
    assert.equal(await unanswered, MessageResponse.TIMEOUT);
  });

  void it("times out when the user would answer after the timeout", async (t) => {
    const clock = createManualClock();
    const backend = backendFor(t, { fixture: HOST, clock });
    backend.inject(1, { messageResponse: MessageResponse.YES, messageResponseDelayMs: 30_000 });
    const answer = backend.sendMessage(1, box);
    clock.advance(30_000);
    assert.equal(await answer, MessageResponse.TIMEOUT);
  });

  void it("lets the user answer a box nobody waits for: input all the same", async (t) => {
    const clock = createManualClock();
    const backend = backendFor(t, { fixture: HOST, clock });
    backend.inject(4, { messageResponse: MessageResponse.OK, messageResponseDelayMs: 500 });
    const before = (await backend.listSessions()).find((s) => s.sessionId === 4)?.lastInputTime;
    await backend.sendMessage(4, { ...box, wait: false });
    clock.advance(500);
    const after = (await backend.listSessions()).find((s) => s.sessionId === 4)?.lastInputTime;
    assert.notDeepEqual(after, before);
    assert.equal(after?.getTime(), clock.now());
  });

  void it("refuses as Windows does, and fails with the injected code", async (t) => {
    const backend = backendFor(t);
    await rejectsWin32(backend.sendMessage(3, box), 7022);
    await rejectsWin32(backend.sendMessage(65536, box), 7045);
    backend.inject(1, { messageWin32Error: 5, messageFailTimes: 1 });
    await rejectsWin32(backend.sendMessage(1, { ...box, wait: false }), 5);
    assert.equal(await backend.sendMessage(1, { ...box, wait: false }), MessageResponse.NOT_WAITED);
  });

  void it("checks injected answers", (t) => {
    const backend = backendFor(t);
    assert.throws(
      () => backend.inject(1, { messageResponse: MessageResponse.NOT_WAITED }),
      /messageResponse 9 is not an answer/,
    );
    assert.throws(
      () => backend.inject(1, { messageResponseDelayMs: -1 }),
      /messageResponseDelayMs: -1 is not a latency/,
    );
    assert.throws(() => backend.inject(1, { logoffWin32Error: 0 }), /logoffWin32Error/);
    assert.throws(() => backend.inject(1, { messageFailTimes: 0.5 }), /messageFailTimes/);
  });

  void it("releases a waiting message on close", async (t) => {
    const clock = createManualClock();
    const backend = createSimulatedBackend({ fixture: HOST, clock });
    const waiting = backend.sendMessage(1, box);
    const released = rejectsWin32(waiting, 1722);
    await backend.close();
    await released;
    assert.equal(clock.pending(), 0);
    t.after(() => backend.close());
  });
});

void describe("simulated backend: changes", () => {
  void it("reports every change of a session to its watchers, and lets them go", async (t) => {
    const clock = createManualClock();
    const backend = backendFor(t, { fixture: HOST, clock });
    let changes = 0;
    const unwatch = backend.watchChanges(() => changes++);
    await backend.disconnectSession(4, { wait: true });
    await backend.logoffSession(1, { wait: true });
    backend.updateSession(10, { locked: true });
    backend.addSession({ sessionId: 20, state: SessionState.CONNECTED, stationName: "Station 20" });
    backend.removeSession(20);
    backend.removeSession(20);
    await backend.listSessions();
    assert.equal(changes, 5, "a listing and a removal of nothing are no changes");
    unwatch();
    backend.updateSession(10, { locked: false });
    assert.equal(changes, 5);
  });

  void it("changes a session as a user would, checking what it is given", async (t) => {
    const backend = backendFor(t);
    const at = new Date("2026-03-10T09:00:00Z");
    backend.updateSession(10, {
      state: SessionState.ACTIVE,
      userName: "pablo.ruiz",
      domainName: "LAB",
      logonTime: at,
      locked: true,
    });
    const session = (await backend.listSessions()).find((s) => s.sessionId === 10);
    assert.deepEqual(session, {
      sessionId: 10,
      state: SessionState.ACTIVE,
      userName: "pablo.ruiz",
      domainName: "LAB",
      stationName: "Station 9",
      clientName: "",
      logonTime: at,
      lastInputTime: undefined,
      locked: true,
      groups: [],
    });
    // A station's input is not tracked (issue 17): a last input for it is a mistake, said so.
    assert.throws(
      () => backend.updateSession(10, { lastInputTime: at }),
      /updateSession\(10\): a console-type session .* has no idle time/,
    );
    backend.updateSession(10, { lastInputTime: null });
    backend.updateSession(4, { lastInputTime: at });
    assert.deepEqual(
      (await backend.listSessions()).find((s) => s.sessionId === 4)?.lastInputTime,
      at,
    );
    backend.updateSession(4, { lastInputTime: null });
    assert.equal(
      (await backend.listSessions()).find((s) => s.sessionId === 4)?.lastInputTime,
      undefined,
    );
    assert.throws(
      () => backend.updateSession(3, {}),
      /updateSession\(3\): no session with this id/,
    );
    assert.throws(() => backend.updateSession(10, { state: 0 }), /not a WTS connect state/);
    assert.throws(
      () => backend.updateSession(10, { logonTime: new Date(Number.NaN) }),
      /logonTime: an invalid date/,
    );
    assert.equal(backend.endLogon(10), true);
    assert.equal(backend.endLogon(10), false, "nobody is logged on any more");
  });

  void it("keeps a user's groups sorted, unknown (with a note) for null, none without a user", async (t) => {
    const backend = backendFor(t, { now: () => 0 });
    const listed = async (id: number) =>
      (await backend.listSessions()).find((s) => s.sessionId === id);
    // The classroom fixture: the teacher at the console is in LAB\Staff and LAB\Teachers.
    assert.deepEqual((await listed(1))?.groups, ["LAB\\Staff", "LAB\\Teachers"]);
    backend.updateSession(4, { groups: ["LAB\\Students", "LAB\\Art", "LAB\\Art"] });
    assert.deepEqual((await listed(4))?.groups, ["LAB\\Art", "LAB\\Students"]);
    backend.updateSession(4, { groups: null });
    const unknown = await listed(4);
    assert.equal(unknown?.groups, undefined);
    assert.match(unknown?.note ?? "", /^groups unknown: /);
    // A new user at the station: groups of their own (none given: none), not the last user's.
    backend.updateSession(4, { userName: "someone.else", groups: ["LAB\\Students"] });
    backend.updateSession(4, { userName: "third.user" });
    assert.deepEqual((await listed(4))?.groups, []);
    assert.equal(backend.endLogon(2), true);
    assert.equal((await listed(2))?.groups, undefined, "the station's logon screen: no user");
    assert.throws(
      () => backend.updateSession(2, { groups: ["LAB\\Students"] }),
      /updateSession\(2\): groups: only a session with a user has groups/,
    );
    assert.throws(
      () => backend.updateSession(4, { groups: Array(201).fill("LAB\\G") }),
      /at most 200 groups, got 201/,
    );
  });

  void it("takes locked and lastInputTime from a fixture, and refuses both ways of giving the last input", (t) => {
    const at = new Date("2026-03-10T08:59:00Z");
    const backend = backendFor(t, {
      fixture: {
        sessions: [
          {
            sessionId: 2,
            state: SessionState.ACTIVE,
            userName: "a",
            stationName: "RDP-Tcp#2",
            locked: true,
            lastInputTime: at,
          },
          // A disconnected remote session has no WinStation name: its protocol says what it is.
          {
            sessionId: 3,
            state: SessionState.DISCONNECTED,
            userName: "b",
            protocol: "rdp",
            idleSeconds: 0,
          },
        ],
      },
      now: () => at.getTime(),
    });
    assert.deepEqual(
      backend.snapshot().map((s) => [s.locked, s.lastInputTime]),
      [
        [true, at],
        [false, at],
      ],
    );
    for (const given of [{ lastInputTime: at }, { idleSeconds: 5 }]) {
      assert.throws(
        () =>
          createSimulatedBackend({
            fixture: {
              sessions: [
                { sessionId: 1, state: SessionState.ACTIVE, stationName: "Console", ...given },
              ],
            },
          }),
        /session 1: a console-type session \(the console, a MultiPoint station\) has no idle time/,
      );
    }
    assert.throws(
      () =>
        createSimulatedBackend({
          fixture: {
            sessions: [
              { sessionId: 2, state: SessionState.ACTIVE, lastInputTime: at, idleSeconds: 5 },
            ],
          },
        }),
      /session 2: give lastInputTime or idleSeconds, not both/,
    );
  });
});
