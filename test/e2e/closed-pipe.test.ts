/**
 * A reader that goes away (`wms-agent --help | head -1`, `wmsctl get | head`) is not an error of
 * the commands: spawned from bin/*.js with standard output a pipe that the test closes, they exit
 * with the status they would have had and print no stack trace. Each case makes the closed pipe
 * certain rather than likely: either the pipe is closed before the command can have written
 * anything, or the command writes far more than a pipe holds.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient } from "../helpers/agent-harness.js";
import { spawnAgent as spawnLoggingAgent } from "../helpers/agent-process.js";
import { AGENT_BIN, WMSCTL_BIN } from "../helpers/commands.js";
import { spawnAgent, type SpawnedAgent } from "../helpers/controller-spawn.js";

const BIN = { "wms-agent": AGENT_BIN, wmsctl: WMSCTL_BIN } as const;

/** A line of a Node.js stack trace (`    at Socket._write (node:net:970:8)`). */
const STACK_LINE = /^\s+at .+[(:]/m;

/** What a command did once its standard output was closed under it. */
interface ClosedPipeRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Bytes read before the pipe was closed. */
  readonly read: number;
  readonly stderr: string;
}

/**
 * Runs `node bin/COMMAND.js ARGS` with standard output a pipe that is closed `"at-once"` (right
 * after the spawn, while the child is still starting Node, so its first write already fails) or
 * `"after-first-chunk"` (like `head -c 1`; certain to fail a later write only when the command
 * writes more than two pipe buffers).
 */
async function runWithClosedStdout(
  command: "wms-agent" | "wmsctl",
  args: readonly string[],
  close: "at-once" | "after-first-chunk",
  afterClose: () => void = () => {},
): Promise<ClosedPipeRun> {
  const child = spawn(process.execPath, [BIN[command], ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let read = 0;
  if (close === "at-once") child.stdout.destroy();
  else {
    child.stdout.once("data", (chunk: Buffer) => {
      read = chunk.length;
      child.stdout.destroy();
      afterClose();
    });
  }
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const [status, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  return { status, signal, read, stderr };
}

/** A simulated host with `count` sessions, each with a long user name: a big `get` output. */
function bigFixture(count: number): string {
  const sessions = Array.from({ length: count }, (_, index) => ({
    sessionId: index + 1,
    state: "ACTIVE",
    userName: `student-${String(index + 1).padStart(5, "0")}-${"x".repeat(60)}`,
    domainName: "LAB",
    stationName: `Station ${index + 1}`,
  }));
  return JSON.stringify({ description: "many sessions, for a long output", sessions });
}

void describe("a closed standard output", () => {
  void it("wms-agent --help and --version: exit 0, no stack trace", async () => {
    for (const args of [["--help"], ["--version"]]) {
      const run = await runWithClosedStdout("wms-agent", args, "at-once");
      assert.deepEqual([run.status, run.signal], [0, null], `${args.join(" ")}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, STACK_LINE);
      assert.equal(run.stderr, "", args.join(" "));
    }
  });

  void it("wmsctl --help, --version and pki --help: exit 0, no stack trace", async () => {
    for (const args of [["--help"], ["--version"], ["pki", "--help"]]) {
      const run = await runWithClosedStdout("wmsctl", args, "at-once");
      assert.deepEqual([run.status, run.signal], [0, null], `${args.join(" ")}: ${run.stderr}`);
      assert.equal(run.stderr, "", args.join(" "));
    }
  });

  void describe("wmsctl get with a long output, against a spawned agent", () => {
    let dir = "";
    let big: SpawnedAgent;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "wmsfleet-closed-pipe-"));
      const fixture = join(dir, "many.json");
      // Hundreds of KiB of table or ndjson: far more than two pipe buffers (64 KiB each on Linux).
      await writeFile(fixture, bigFixture(4000));
      big = await spawnAgent("big.lab.example.com", ["--sim-fixture", fixture]);
    });
    after(async () => {
      await big.stop();
      await rm(dir, { recursive: true, force: true });
    });

    for (const format of ["table", "ndjson"]) {
      void it(`-o ${format} | head -c 1: exit 0, no stack trace`, async () => {
        const run = await runWithClosedStdout(
          "wmsctl",
          ["get", "--insecure-loopback", "-s", big.fqdn, big.resolve, "-o", format],
          "after-first-chunk",
        );
        assert.ok(run.read > 0, "read a first chunk");
        assert.deepEqual([run.status, run.signal], [0, null], run.stderr);
        assert.doesNotMatch(run.stderr, STACK_LINE);
      });
    }

    void it("the run goes on to the status it would have had: 3 when a host it still waited for fails", async () => {
      // A host that accepts connections and never answers, until the test lets it fail: wmsctl is
      // still waiting for it when its output pipe closes under the first host's records.
      const held = new Set<Socket>();
      const silent = createServer((socket) => held.add(socket));
      silent.listen(0, "127.0.0.1");
      await once(silent, "listening");
      const { port } = silent.address() as AddressInfo;
      const mute = "mute.lab.example.com";
      const letGo = () => {
        silent.close();
        for (const socket of held) socket.destroy();
      };
      const run = await runWithClosedStdout(
        "wmsctl",
        [
          "get",
          "--insecure-loopback",
          "-s",
          `${big.fqdn},${mute}`,
          big.resolve,
          `--resolve=${mute}=127.0.0.1:${port}`,
          "--retries",
          "0",
          "-o",
          "ndjson",
        ],
        "after-first-chunk",
        letGo,
      ).finally(letGo);
      assert.deepEqual([run.status, run.signal], [3, null], run.stderr);
      assert.doesNotMatch(run.stderr, STACK_LINE);
      assert.match(run.stderr, /2 hosts: 1 ok, 1 unreachable/);
    });
  });

  void it("a running wms-agent whose log reader went away keeps serving, then drains to exit 0", async (t) => {
    const agent = await spawnLoggingAgent(t, []);
    agent.child.stdout?.destroy();
    const raw = new WmsSessionServiceClient(
      `127.0.0.1:${agent.port}`,
      credentials.createInsecure(),
    );
    try {
      const client = promisifyClient(raw);
      // Each call logs an "rpc" line to the closed pipe: the first write fails with EPIPE, and
      // the calls after it must still be answered.
      for (let call = 0; call < 3; call++) {
        const { sessions } = await client.listSessions();
        assert.ok(sessions.length > 0);
      }
      const result = await client.disconnect({
        expectedHost: "mps01.lab.example.com",
        sessionIds: [4],
      });
      assert.equal(result.results.length, 1);
    } finally {
      raw.close();
    }
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0, agent.stderr());
    assert.doesNotMatch(agent.stderr(), STACK_LINE);
    assert.match(agent.stderr(), /standard output closed \(EPIPE\); logs are lost, still serving/);
  });
});
