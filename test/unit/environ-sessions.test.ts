/**
 * The simulated backend's session of a process, read from its environment: a value, no session,
 * or an error that makes rule 3 fail closed (gone, exited but not reaped, unreadable, malformed).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it, type TestContext } from "node:test";
import { sessionFromEnviron } from "../../agent/backends/environ-sessions.js";

const VARIABLE = "WMSFLEET_SIM_SESSION";
const parse = (text: string) => (/^\d{1,9}$/.test(text) ? Number(text) : undefined);

async function fakeProc(
  t: TestContext,
  processes: Record<number, { environ?: string; stat?: string }>,
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "wmsfleet-environ-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const [pid, files] of Object.entries(processes)) {
    await mkdir(join(root, pid));
    if (files.environ !== undefined) await writeFile(join(root, pid, "environ"), files.environ);
    if (files.stat !== undefined) await writeFile(join(root, pid, "stat"), files.stat);
  }
  return root;
}

void describe("sessionFromEnviron", () => {
  void it("reads the variable wherever it is in the environment", async (t) => {
    const root = await fakeProc(t, {
      10: { environ: "HOME=/home/zoe\0WMSFLEET_SIM_SESSION=4\0LANG=C.UTF-8\0" },
      11: { environ: "WMSFLEET_SIM_SESSION=0\0" },
      12: { environ: "WMSFLEET_SIM_SESSION=12" },
    });
    assert.equal(sessionFromEnviron(root, 10, VARIABLE, parse), 4);
    assert.equal(sessionFromEnviron(root, 11, VARIABLE, parse), 0);
    assert.equal(sessionFromEnviron(root, 12, VARIABLE, parse), 12);
  });

  void it("answers no session for a process without the variable, or with it empty", async (t) => {
    const root = await fakeProc(t, {
      20: { environ: "HOME=/root\0NOT_WMSFLEET_SIM_SESSION=3\0" },
      21: { environ: "WMSFLEET_SIM_SESSION=\0" },
      22: { environ: "", stat: "22 (kworker/0:1 (x)) S 2 0 0" },
    });
    for (const pid of [20, 21, 22]) {
      assert.equal(sessionFromEnviron(root, pid, VARIABLE, parse), undefined, `pid ${pid}`);
    }
  });

  void it("refuses a value that is not a session id, naming the process and the value", async (t) => {
    const root = await fakeProc(t, {
      30: { environ: "WMSFLEET_SIM_SESSION=seven\0" },
      31: { environ: "WMSFLEET_SIM_SESSION= 3\0" },
    });
    assert.throws(
      () => sessionFromEnviron(root, 30, VARIABLE, parse),
      /process 30 has WMSFLEET_SIM_SESSION="seven", not a session id/,
    );
    assert.throws(() => sessionFromEnviron(root, 31, VARIABLE, parse), /" 3"/);
  });

  void it("fails for a process that is gone, exited but not reaped, or not a pid", async (t) => {
    const root = await fakeProc(t, {
      40: { environ: "", stat: "40 (wmsctl) Z 1 40 40" },
      41: { environ: "" },
      42: {},
    });
    for (const pid of [40, 41, 42, 404]) {
      assert.throws(
        () => sessionFromEnviron(root, pid, VARIABLE, parse),
        new RegExp(`process ${pid} does not exist any more`),
      );
    }
    for (const pid of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => sessionFromEnviron(root, pid, VARIABLE, parse), RangeError);
    }
  });

  void it(
    "reads a real process afresh each time: a new image's environment, then its exit",
    { skip: process.platform !== "linux" },
    async (t) => {
      // A shell with session 5 that execs (same pid) into one with session 7 when given a line.
      const child = spawn(
        "sh",
        ["-c", `echo ready; read line; exec env ${VARIABLE}=7 sh -c 'echo ready; read line'`],
        { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", [VARIABLE]: "5" } },
      );
      const exited = once(child, "exit");
      t.after(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill();
        await exited;
      });
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const ready = async () => assert.equal((await lines.next()).value, "ready");
      const pid = child.pid ?? assert.fail("no pid");
      await ready();
      assert.equal(sessionFromEnviron("/proc", pid, VARIABLE, parse), 5);
      child.stdin.write("exec now\n");
      await ready();
      assert.equal(sessionFromEnviron("/proc", pid, VARIABLE, parse), 7);
      child.stdin.end();
      await exited;
      assert.throws(() => sessionFromEnviron("/proc", pid, VARIABLE, parse), /does not exist/);
    },
  );
});
