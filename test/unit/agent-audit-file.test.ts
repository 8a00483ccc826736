/**
 * The JSON-lines audit file: whole lines in the order written, none lost under concurrency,
 * reopened for rotation, refusing writes once closed.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { AuditRecord } from "../../agent/server/access.js";
import { openFileAuditSink } from "../../agent/audit/audit-file.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wms-audit-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function record(n: number): AuditRecord {
  return {
    time: new Date(0).toISOString(),
    identity: n % 2 === 0 ? "ops" : null,
    peer: "127.0.0.1:1234",
    rpc: "Disconnect",
    request: { sessionIds: [n], note: "a line\nbreak and \u2028 separator" },
    results: [{ sessionId: n, outcome: "DISCONNECTED", message: "done", win32Error: 0 }],
  };
}

async function lines(path: string): Promise<AuditRecord[]> {
  const text = await readFile(path, "utf8");
  assert.ok(text === "" || text.endsWith("\n"));
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AuditRecord);
}

describe("openFileAuditSink", () => {
  it("creates the file with mode 0600 and appends one line per record", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    const sink = await openFileAuditSink(path);
    await sink.write(record(1));
    await sink.write(record(2));
    await sink.close();
    if (process.platform !== "win32") assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await lines(path), [record(1), record(2)]);

    const again = await openFileAuditSink(path);
    await again.write(record(3));
    await again.close();
    assert.equal((await lines(path)).length, 3, "appends, never truncates");
  });

  it("loses no record when 1000 are written at once, and keeps their order", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    const sink = await openFileAuditSink(path);
    await Promise.all(Array.from({ length: 1000 }, (_, n) => sink.write(record(n))));
    await sink.close();
    const written = await lines(path);
    assert.equal(written.length, 1000);
    assert.deepEqual(
      written.map((r) => (r.request as { sessionIds: number[] }).sessionIds[0]),
      Array.from({ length: 1000 }, (_, n) => n),
    );
  });

  it("reopens the path after the file was moved away (rotation)", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "audit.jsonl");
    const sink = await openFileAuditSink(path, { sync: false });
    await sink.write(record(1));
    await rename(path, `${path}.1`);
    const pending = sink.write(record(2));
    await sink.reopen();
    await sink.write(record(3));
    await pending;
    await sink.close();
    assert.deepEqual(await lines(`${path}.1`), [record(1), record(2)]);
    assert.deepEqual(await lines(path), [record(3)]);
  });

  it("moves to a new path, and keeps the old file when the new one cannot be opened", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "audit.jsonl");
    const sink = await openFileAuditSink(path);
    await assert.rejects(sink.reopen(join(dir, "missing", "audit.jsonl")), /ENOENT/);
    await sink.write(record(1));
    assert.equal(sink.path, path);
    await sink.reopen(join(dir, "other.jsonl"));
    assert.equal(sink.path, join(dir, "other.jsonl"));
    await sink.write(record(2));
    await sink.close();
    assert.deepEqual(await lines(path), [record(1)]);
    assert.deepEqual(await lines(join(dir, "other.jsonl")), [record(2)]);
  });

  it("finishes pending writes on close, then refuses new ones", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    const sink = await openFileAuditSink(path);
    const writes = [sink.write(record(1)), sink.write(record(2))];
    await sink.close();
    await Promise.all(writes);
    await assert.rejects(sink.write(record(3)), /audit log .* is closed/);
    assert.equal((await lines(path)).length, 2);
  });

  it("fails start-up's open with the reason", async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(openFileAuditSink(join(dir, "no", "such", "dir.jsonl")), /ENOENT/);
  });
});
