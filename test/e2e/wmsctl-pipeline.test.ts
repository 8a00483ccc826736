/**
 * The README's pipeline, `wmsctl get -o json | wmsctl disconnect --stdin`, as two spawned wmsctl
 * processes joined by a pipe against a spawned agent: it exits 0 when everything that could be
 * disconnected was. The sessions `get` listed as protected, the listener and the session already
 * disconnected are skips the input announced, not failures; a session the input did not announce
 * as protected and that the agent refuses is a failure (exit 1).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import { WMSCTL_BIN } from "../helpers/commands.js";
import { spawnAgent, type SpawnedAgent } from "../helpers/controller-spawn.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `wmsctl GET | wmsctl DISCONNECT`, each with its own environment; both exit statuses. */
async function pipeline(
  get: readonly string[],
  disconnect: readonly string[],
  disconnectEnv: Readonly<Record<string, string>> = {},
): Promise<{ get: number | null; disconnect: number | null; stdout: string; stderr: string }> {
  const wmsctl = (args: readonly string[], env: Readonly<Record<string, string>>) =>
    spawn(process.execPath, [WMSCTL_BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
  const left = wmsctl(get, {});
  const right = wmsctl(disconnect, disconnectEnv);
  left.stdout.pipe(right.stdin);
  let stdout = "";
  let stderr = "";
  left.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  right.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  right.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  left.stdin.end();
  const [[getStatus], [disconnectStatus]] = (await Promise.all([
    once(left, "close"),
    once(right, "close"),
  ])) as [[number | null], [number | null]];
  return { get: getStatus, disconnect: disconnectStatus, stdout, stderr };
}

void describe("wmsctl get -o json | wmsctl disconnect --stdin, spawned", () => {
  let agent: SpawnedAgent;
  let flags: string[];
  beforeEach(async () => {
    agent = await spawnAgent("mps01.lab.example.com");
    flags = ["--insecure-loopback", "-s", agent.fqdn, agent.resolve];
  });
  afterEach(() => agent.stop());

  void it("exits 0 when everything that could be disconnected was", async () => {
    const run = await pipeline(
      ["get", ...flags, "-o", "json"],
      ["disconnect", "--stdin", ...flags, "-o", "json"],
    );
    assert.equal(run.get, 0, run.stderr);
    assert.equal(run.disconnect, 0, run.stderr);
    const [report] = JSON.parse(run.stdout) as HostReport[];
    const outcomes = new Map(report?.results?.map((r) => [r.sessionId, r]));
    assert.deepEqual(
      [0, 16, 65536].map((id) => [id, outcomes.get(id)?.outcome, outcomes.get(id)?.skipped]),
      [
        [0, "PROTECTED", "input"],
        [16, "ALREADY_DISCONNECTED", undefined],
        [65536, "NOT_DISCONNECTABLE", "input"],
      ],
    );
    const disconnected = [...outcomes.values()].filter((r) => r.outcome === "DISCONNECTED");
    assert.equal(disconnected.length, 16);
    assert.match(run.stderr, /1 host: 1 ok; sessions: /);
  });

  void it("exits 1 for a session the input did not announce as protected that the agent refused", async () => {
    // The disconnecting process runs in session 5 (rule 3 protects it); the listing did not say so.
    const run = await pipeline(
      ["get", "0", "5", "7", ...flags, "-o", "json"],
      ["disconnect", "--stdin", ...flags, "-o", "json"],
      { WMSFLEET_SIM_SESSION: "5" },
    );
    assert.equal(run.get, 0, run.stderr);
    assert.equal(run.disconnect, 1, run.stderr);
    const [report] = JSON.parse(run.stdout) as HostReport[];
    assert.deepEqual(
      report?.results?.map((r) => [r.sessionId, r.outcome, r.skipped]),
      [
        [0, "PROTECTED", "input"],
        [5, "PROTECTED", undefined],
        [7, "DISCONNECTED", undefined],
      ],
    );
  });
});
