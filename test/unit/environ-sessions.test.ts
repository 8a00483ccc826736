import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it, type TestContext } from "node:test";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { acquireEnvironSessions, EnvironSessions } from "../../agent/backends/environ-sessions.js";

const VARIABLE = "WMSFLEET_SIM_SESSION";
const parse = (text: string) => (/^\d+$/.test(text) ? Number(text) : undefined);
const linuxOnly = { skip: process.platform !== "linux" };

/**
 * A shell started with session `first` that prints `ready` and waits for a line; given one, it
 * execs (same pid) into a shell with session `second` that prints `ready` again and waits.
 */
function execingProcess(t: TestContext, first: string, second: string) {
  const child = spawn(
    "sh",
    ["-c", `echo ready; read line; exec env ${VARIABLE}=${second} sh -c 'echo ready; read line'`],
    { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", [VARIABLE]: first } },
  );
  const exited = once(child, "exit");
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ready = async () => assert.equal((await lines.next()).value, "ready");
  return { child, ready, exited, pid: child.pid ?? assert.fail("no pid") };
}

const openDescriptors = async () => (await readdir("/proc/self/fd")).length;

async function stopProcess(child: ChildProcessWithoutNullStreams, exited: Promise<unknown>) {
  child.stdin.end();
  await exited;
}

void describe("EnvironSessions", () => {
  void it(
    "answers again from a held descriptor, and reads afresh after the process execs",
    linuxOnly,
    async (t) => {
      const sessions = new EnvironSessions({ variable: VARIABLE, parse });
      t.after(() => sessions.close());
      const { child, ready, pid } = execingProcess(t, "5", "7");
      await ready();
      assert.equal(sessions.sessionOf(pid), 5);
      assert.equal(sessions.sessionOf(pid), 5);
      assert.equal(sessions.size, 1);
      child.stdin.write("exec now\n");
      await ready();
      assert.equal(sessions.sessionOf(pid), 7, "the new image's environment");
      assert.equal(sessions.size, 1);
    },
  );

  void it("forgets a process that exited (its pid may be reused)", linuxOnly, async (t) => {
    const sessions = new EnvironSessions({ variable: VARIABLE, parse });
    t.after(() => sessions.close());
    const { child, ready, exited, pid } = execingProcess(t, "3", "3");
    await ready();
    assert.equal(sessions.sessionOf(pid), 3);
    await stopProcess(child, exited);
    assert.equal(sessions.sessionOf(pid), undefined);
    assert.equal(sessions.size, 0, "the dead process's descriptor is closed");
  });

  void it(
    "lets go of exited processes' descriptors when it takes a new one",
    linuxOnly,
    async (t) => {
      const sessions = new EnvironSessions({ variable: VARIABLE, parse });
      t.after(() => sessions.close());
      const processes = ["21", "22", "23"].map((session) => execingProcess(t, session, session));
      for (const p of processes) await p.ready();
      const [first, second, third] = processes;
      assert.ok(first !== undefined && second !== undefined && third !== undefined);
      assert.equal(sessions.sessionOf(first.pid), 21);
      assert.equal(sessions.sessionOf(second.pid), 22);
      assert.equal(sessions.size, 2);
      await stopProcess(first.child, first.exited);
      await stopProcess(second.child, second.exited);
      // Never asked for again, the two would be held until crowded out; the next newcomer sweeps.
      assert.equal(sessions.sessionOf(third.pid), 23);
      assert.equal(sessions.size, 1);
    },
  );

  void it("holds at most `capacity` descriptors, and none after close", linuxOnly, async (t) => {
    const sessions = new EnvironSessions({ variable: VARIABLE, parse, capacity: 2 });
    const processes = ["11", "12", "13"].map((session) => execingProcess(t, session, session));
    for (const p of processes) await p.ready();
    const during = await openDescriptors();
    assert.deepEqual(
      processes.map((p) => sessions.sessionOf(p.pid)),
      [11, 12, 13],
    );
    assert.equal(sessions.size, 2);
    assert.equal(await openDescriptors(), during + 2);
    // The evicted one (the least recently asked) is read again, correctly.
    assert.equal(sessions.sessionOf(processes[0]?.pid ?? 0), 11);
    sessions.close();
    assert.equal(sessions.size, 0);
    assert.equal(await openDescriptors(), during);
    assert.equal(sessions.sessionOf(processes[1]?.pid ?? 0), 12, "still answers after close");
    assert.equal(sessions.size, 0, "but holds nothing");
    for (const p of processes) await stopProcess(p.child, p.exited);
  });

  void it("reads a tree that is not procfs afresh on every lookup", async (t) => {
    const root = await mkdtemp(join(tmpdir(), "wmsfleet-environ-"));
    t.after(() => rm(root, { recursive: true, force: true }));
    await mkdir(join(root, "42"));
    const environ = join(root, "42", "environ");
    const sessions = new EnvironSessions({ procRoot: root, variable: VARIABLE, parse });
    await writeFile(environ, `HOME=/root\0${VARIABLE}=4\0`);
    assert.equal(sessions.sessionOf(42), 4);
    await writeFile(environ, `${VARIABLE}=9`);
    assert.equal(sessions.sessionOf(42), 9);
    assert.equal(sessions.size, 0);
    await writeFile(environ, `${VARIABLE}=2\0${VARIABLE}=3\0`);
    assert.equal(sessions.sessionOf(42), 2, "the first definition");
    await writeFile(environ, `NOT_${VARIABLE}=9\0`);
    assert.equal(sessions.sessionOf(42), undefined);
  });

  void it("answers nothing for a pid that cannot be one", () => {
    const sessions = new EnvironSessions({ variable: VARIABLE, parse });
    for (const pid of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      assert.equal(sessions.sessionOf(pid), undefined, `pid ${pid}`);
    }
    assert.equal(sessions.size, 0);
  });

  void it(
    "is shared by the backends of a process: one descriptor per client process, closed with the last backend",
    linuxOnly,
    async (t) => {
      const { ready, pid } = execingProcess(t, "6", "6");
      await ready();
      const before = await openDescriptors();
      const backends = Array.from({ length: 50 }, () => createSimulatedBackend({ env: {} }));
      for (const backend of backends) assert.equal(await backend.sessionOfProcess(pid), 6);
      assert.equal(await openDescriptors(), before + 1, "one descriptor for 50 backends");
      for (const backend of backends.slice(1)) await backend.close();
      assert.equal(await openDescriptors(), before + 1, "held while one backend is open");
      await backends[0]?.close();
      assert.equal(await openDescriptors(), before, "the last close releases it");
      // A new user starts afresh.
      const again = acquireEnvironSessions({ variable: VARIABLE, parse });
      t.after(() => again.release());
      assert.equal(again.sessions.sessionOf(pid), 6);
      assert.equal(again.sessions.size, 1);
    },
  );
});
