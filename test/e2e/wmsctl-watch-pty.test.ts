/**
 * `wmsctl watch` on a real pseudo-terminal: the live table (redrawn in place, the cursor hidden
 * while it runs and shown again after), and Ctrl-C typed on the terminal ending it with 130.
 * Node has no pty of its own; Python's standard `pty` module drives it (the test is skipped where
 * `python3` is missing).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { WMSCTL_BIN } from "../helpers/commands.js";
import { spawnAgent, type SpawnedAgent } from "../helpers/controller-spawn.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs argv on a 40x120 pty; once `marker` has appeared, types Ctrl-C; prints all output. */
const DRIVER = `
import fcntl, json, os, pty, select, struct, sys, termios
argv, marker = json.loads(sys.argv[1]), sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
out, sent = b"", False
while True:
    if not select.select([fd], [], [], 30)[0]:
        sys.exit("no output for 30 s")
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
    if not sent and marker in out:
        sent = True
        os.write(fd, b"\\x03")
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
`;

const hasPython = spawnSync("python3", ["-c", "import pty"]).status === 0;

void describe(
  "wmsctl watch on a pseudo-terminal",
  { skip: !hasPython && "python3 missing" },
  () => {
    let agent: SpawnedAgent;
    before(async () => {
      agent = await spawnAgent("pty-watch.lab.example.com");
    });
    after(() => agent.stop());

    void it("draws the live table and ends on Ctrl-C with 130", async () => {
      const argv = [
        process.execPath,
        WMSCTL_BIN,
        "watch",
        "-s",
        agent.fqdn,
        "--insecure-loopback",
        agent.resolve,
      ];
      const child = spawn("python3", ["-c", DRIVER, JSON.stringify(argv), "józef.nowak"], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const [status] = (await once(child, "close")) as [number];
      assert.equal(status, 130, output);
      assert.ok(output.includes("\x1b[?25l"), "the cursor is hidden while the table runs");
      assert.match(output, /1 host: 1 connected · 19 sessions · /);
      assert.match(output, /HOST\s+ID\s+STATE\s+USER\s+STATION\s+CLIENT\s+IDLE\s+LOCKED/);
      assert.match(
        output,
        /pty-watch\.lab\.example\.com\s+5\s+IDLE\s+LAB\\oliver\.bennett\s+RDP-Tcp#2\s+LAB-LT-03\s+\S+\s+locked/,
      );
      assert.ok(output.includes("\x1b[?25h"), "and shown again at the end");
      assert.match(
        output,
        /wmsctl: watch interrupted: 1 host: 1 connected; 19 sessions; 0 changes seen/,
      );
    });
  },
);
