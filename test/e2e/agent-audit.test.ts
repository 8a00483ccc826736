/**
 * The audit log of a spawned `wms-agent` when things go wrong for real: a disk that fills up (a
 * file size limit on the agent process: writes stop part-way, as on a full disk), the full file
 * moved away without SIGHUP, and a SIGTERM whose grace period runs out while a disconnect acts.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { credentials, status as Status, type ServiceError } from "@grpc/grpc-js";
import {
  Outcome,
  SessionState,
  WmsSessionServiceClient,
} from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient } from "../helpers/agent-harness.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { ULIMIT_BLOCK_BYTES } from "../helpers/file-size-limit.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wms-e2e-audit-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function clientFor(t: TestContext, port: number) {
  const raw = new WmsSessionServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.after(() => raw.close());
  return promisifyClient(raw);
}

/** Whole JSON lines of exactly `bytes` bytes in all (at least 100). */
function padding(bytes: number): string {
  const line = (size: number) => `{"pad":"${"x".repeat(size - 11)}"}\n`;
  let text = "";
  while (bytes - text.length >= 200) text += line(100);
  return text + line(bytes - text.length);
}

describe("wms-agent's audit log on a full disk", () => {
  it("refuses to act without its intent record, keeps whole records, and records again once the full file is moved away", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "audit.jsonl");
    const blocks = 8;
    // 100 bytes left: a record starts to be written, and fails part-way.
    const before = padding(blocks * ULIMIT_BLOCK_BYTES - 100);
    await writeFile(path, before);
    const agent = await spawnAgent(t, ["--audit-log", path], {}, { fileSizeLimitBlocks: blocks });
    const client = clientFor(t, agent.port);

    await assert.rejects(client.disconnect({ sessionIds: [2] }), (error: ServiceError) => {
      assert.equal(Status[error.code], "UNAVAILABLE");
      assert.match(error.details, /^the audit log cannot be written, so nothing was done/);
      return true;
    });
    const [session] = (await client.listSessions({ sessionIds: [2] })).sessions;
    assert.equal(SessionState[session?.state ?? 0], "ACTIVE", "session 2 was not disconnected");
    assert.equal(await readFile(path, "utf8"), before, "the torn record was truncated away");
    const refused = await agent.waitForLine((line) =>
      /audit intent record could not be written/.test(line.msg ?? ""),
    );
    assert.equal((refused["err"] as { code?: string }).code, "EFBIG");

    // The operator moves the full file away; the agent notices by itself (no SIGHUP).
    await rename(path, `${path}.full`);
    const response = await client.disconnect({ sessionIds: [2] });
    assert.equal(Outcome[response.results[0]?.outcome ?? 0], "DISCONNECTED");
    await agent.waitForLine((line) => line.msg === "audit file reopened");
    const records = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { kind: string; callId: string; rpc: string });
    assert.deepEqual(
      records.map((r) => [r.kind, r.rpc]),
      [
        ["intent", "Disconnect"],
        ["result", "Disconnect"],
      ],
    );
    assert.equal(records[0]?.callId, records[1]?.callId);
    assert.equal(await readFile(`${path}.full`, "utf8"), before);

    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
  });
});

describe("wms-agent's audit log on a forced shutdown", () => {
  it("leaves the intent of a call cut off at the end of the grace period, and a result that says it may have acted", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "audit.jsonl");
    const fixture = join(dir, "stuck.json");
    await writeFile(
      fixture,
      JSON.stringify({
        sessions: [{ sessionId: 2, state: "ACTIVE", disconnectLatencyMs: 600_000 }],
      }),
    );
    const agent = await spawnAgent(t, [
      ...["--sim-fixture", fixture, "--audit-log", path],
      ...["--log-level", "debug", "--shutdown-grace", "0.2"],
    ]);
    const client = clientFor(t, agent.port);
    const call = client.disconnect({ sessionIds: [2] });
    // The handler starts only once the intent record is on disk.
    await agent.waitForLine(
      (line) => line.msg === "rpc started" && line["rpc"] === "wms.v1.WmsSessionService/Disconnect",
    );
    agent.child.kill("SIGTERM");
    await assert.rejects(call);
    assert.equal(await agent.exited, 1);

    const records = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as {
            kind: string;
            callId: string;
            status?: { code: string; message: string };
          },
      );
    const [intent, result, ...later] = records;
    assert.equal(intent?.kind, "intent");
    assert.equal(result?.kind, "result");
    assert.equal(result?.callId, intent?.callId);
    assert.equal(result?.status?.code, "UNKNOWN");
    assert.match(result?.status?.message ?? "", /grace period.*it may have acted/);
    // The call may still have ended before the agent exited; its record would follow.
    for (const record of later) assert.equal(record.callId, intent?.callId);
  });
});
