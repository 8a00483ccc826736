/**
 * `wmsctl disconnect --confirm` on a real pseudo-terminal, answered key by key through the real
 * `@inquirer/expand` prompt. Node has no pty of its own; Python's standard `pty` module drives it
 * (the test is skipped where `python3` is missing).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import { WMSCTL_BIN } from "../helpers/commands.js";
import { spawnAgent, spawnWmsctl, type SpawnedAgent } from "../helpers/controller-spawn.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs argv on a pty; each time the prompt's last line appears, types the next answer. */
const DRIVER = `
import json, os, pty, select, sys
argv = json.loads(sys.argv[1])
answers = [b"\\x03" if a == "^C" else a.encode() + b"\\r" for a in json.loads(sys.argv[2])]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out, prompts = b"", 0
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
    while out.count(b"No to All") > prompts * 2 and answers:
        prompts += 1
        os.write(fd, answers.pop(0))
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
`;

const hasPython = spawnSync("python3", ["-c", "import pty"]).status === 0;

void describe(
  "wmsctl --confirm on a pseudo-terminal",
  { skip: !hasPython && "python3 missing" },
  () => {
    let agent: SpawnedAgent;
    before(async () => {
      agent = await spawnAgent("pty.lab.example.com");
    });
    after(() => agent.stop());

    /** Runs `wmsctl ARGS` on the pty, typing `answers` at the prompts; its status and output. */
    const onPty = async (args: readonly string[], answers: readonly string[]) => {
      const argv = [process.execPath, WMSCTL_BIN, ...args];
      const child = spawn(
        "python3",
        ["-c", DRIVER, JSON.stringify(argv), JSON.stringify(answers)],
        {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const [status] = (await once(child, "close")) as [number];
      return { status, output };
    };

    void it("Ctrl-C at the prompt: exit 130, interrupted, nothing changed, the hosts counted", async () => {
      const flags = ["-s", agent.fqdn, "--insecure-loopback", agent.resolve];
      // Yes to session 7, then Ctrl-C at session 9: the approvals are made after all the questions.
      const run = await onPty(
        ["disconnect", "7", "9", ...flags, "--confirm", "-o", "json"],
        ["y", "^C"],
      );
      assert.equal(run.status, 130, run.output);
      assert.match(run.output, /^wmsctl: interrupted\r?$/m);
      assert.match(
        run.output,
        /^1 host: 1 not done \(interrupted at the --confirm prompt: nothing was changed\)\r?$/m,
      );
      assert.doesNotMatch(run.output, /force closed|ExitPromptError/);
      const check = await spawnWmsctl(["get", "7", "9", ...flags, "-o", "json"]);
      const [report] = JSON.parse(check.stdout) as HostReport[];
      assert.deepEqual(
        report?.sessions?.map((s) => [s.sessionId, s.state]),
        [
          [7, "ACTIVE"],
          [9, "ACTIVE"],
        ],
      );
    });

    void it("asks per session and acts on Yes, No and Yes to All", async () => {
      const argv = [
        process.execPath,
        WMSCTL_BIN,
        "disconnect",
        "2",
        "3",
        "4",
        "6",
        "-s",
        agent.fqdn,
        "--insecure-loopback",
        agent.resolve,
        "--confirm",
        "-o",
        "json",
      ];
      const child = spawn(
        "python3",
        ["-c", DRIVER, JSON.stringify(argv), JSON.stringify(["y", "n", "a"])],
        {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const [status] = (await once(child, "close")) as [number];
      assert.equal(status, 0, output);
      const flat = output.replace(/\s+/g, " ");
      assert.match(flat, /Are you sure you want to perform this action\?/);
      assert.match(
        flat,
        /Performing the operation "Disconnect" on target "session 2 \(amelia\.hughes, Station 1\) on pty\.lab\.example\.com"/,
      );
      assert.match(flat, /\[Y\] Yes \[A\] Yes to All \[N\] No \[L\] No to All/);
      assert.doesNotMatch(output, /hosts done/, "no progress line under a prompt");
      const json = output.replace(/\r\n/g, "\n");
      const start = json.indexOf('[\n  {\n    "host"');
      const [report] = JSON.parse(json.slice(start, json.lastIndexOf("]") + 1)) as HostReport[];
      assert.deepEqual(
        report?.results?.map((r) => `${r.sessionId}:${r.outcome}`),
        ["2:DISCONNECTED", "3:DECLINED", "4:DISCONNECTED", "6:DISCONNECTED"],
      );
    });
  },
);
