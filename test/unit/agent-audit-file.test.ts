/**
 * The JSON-lines audit file: whole lines in the order written, none lost under concurrency,
 * reopened for rotation (on request, and by itself when the file was deleted or moved away),
 * no torn line left by a write that failed part-way, refusing writes once closed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { openFileAuditSink } from "../../agent/audit/audit-file.js";
import { ULIMIT_BLOCK_BYTES, underFileSizeLimit } from "../helpers/file-size-limit.js";

/** What the tests write: any JSON object. */
type AuditRecord = Record<string, unknown>;

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

/** A record as the sink takes it: one JSON text. */
function json(n: number): string {
  return JSON.stringify(record(n));
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
    await sink.write(json(1));
    await sink.write(json(2));
    await sink.close();
    if (process.platform !== "win32") assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await lines(path), [record(1), record(2)]);

    const again = await openFileAuditSink(path);
    await again.write(json(3));
    await again.close();
    assert.equal((await lines(path)).length, 3, "appends, never truncates");
  });

  it("loses no record when 1000 are written at once, and keeps their order", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    const sink = await openFileAuditSink(path);
    await Promise.all(Array.from({ length: 1000 }, (_, n) => sink.write(json(n))));
    await sink.close();
    const written = await lines(path);
    assert.equal(written.length, 1000);
    assert.deepEqual(
      written.map((r) => (r["request"] as { sessionIds: number[] }).sessionIds[0]),
      Array.from({ length: 1000 }, (_, n) => n),
    );
  });

  it("reopens the path after the file was moved away (rotation)", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "audit.jsonl");
    const sink = await openFileAuditSink(path, { sync: false });
    await sink.write(json(1));
    await rename(path, `${path}.1`);
    const pending = sink.write(json(2));
    await sink.reopen();
    await sink.write(json(3));
    await pending;
    await sink.close();
    // Record 2, written after the move, went to the path too: the sink follows the path itself.
    assert.deepEqual(await lines(`${path}.1`), [record(1)]);
    assert.deepEqual(await lines(path), [record(2), record(3)]);
  });

  it("moves to a new path, and keeps the old file when the new one cannot be opened", async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, "audit.jsonl");
    const sink = await openFileAuditSink(path);
    await assert.rejects(sink.reopen(join(dir, "missing", "audit.jsonl")), /ENOENT/);
    await sink.write(json(1));
    assert.equal(sink.path, path);
    await sink.reopen(join(dir, "other.jsonl"));
    assert.equal(sink.path, join(dir, "other.jsonl"));
    await sink.write(json(2));
    await sink.close();
    assert.deepEqual(await lines(path), [record(1)]);
    assert.deepEqual(await lines(join(dir, "other.jsonl")), [record(2)]);
  });

  it("finishes pending writes on close, then refuses new ones", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    const sink = await openFileAuditSink(path);
    const writes = [sink.write(json(1)), sink.write(json(2))];
    await sink.close();
    await Promise.all(writes);
    await assert.rejects(sink.write(json(3)), /audit log .* is closed/);
    assert.equal((await lines(path)).length, 2);
  });

  it("fails start-up's open with the reason", async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(openFileAuditSink(join(dir, "no", "such", "dir.jsonl")), /ENOENT/);
  });

  it("notices a deleted file and writes the next record to a new one, without reopen()", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    const sink = await openFileAuditSink(path);
    await sink.write(json(1));
    await rm(path);
    await sink.write(json(2));
    await sink.close();
    assert.deepEqual(await lines(path), [record(2)]);
    if (process.platform !== "win32") assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it("notices a file moved away (a rotation without SIGHUP) and starts a new one at the path", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    const sink = await openFileAuditSink(path);
    await sink.write(json(1));
    await rename(path, `${path}.1`);
    await sink.write(json(2));
    await sink.close();
    assert.deepEqual(await lines(`${path}.1`), [record(1)]);
    assert.deepEqual(await lines(path), [record(2)]);
  });

  it("fails a write when the path cannot be created again, never writing to the lost file", async (t) => {
    const dir = join(await tempDir(t), "logs");
    await mkdir(dir);
    const path = join(dir, "audit.jsonl");
    const sink = await openFileAuditSink(path);
    await sink.write(json(1));
    await rm(dir, { recursive: true });
    await assert.rejects(sink.write(json(2)), /ENOENT/);
    await mkdir(dir);
    await sink.write(json(3));
    await sink.close();
    assert.deepEqual(await lines(path), [record(3)]);
  });

  it("starts on a new line when the file ends in a torn record (e.g. after a crash)", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    await writeFile(path, `${json(1)}\n{"torn":`);
    const sink = await openFileAuditSink(path);
    await sink.write(json(2));
    await sink.close();
    const text = await readFile(path, "utf8");
    assert.deepEqual(text.split("\n"), [json(1), '{"torn":', json(2), ""]);
  });

  it("truncates away what a write that failed part-way left (a full disk), so the next record is whole", async (t) => {
    const path = join(await tempDir(t), "audit.jsonl");
    const limit = 2 * ULIMIT_BLOCK_BYTES;
    // Record 2 does not fit: part of it reaches the file before the write fails with EFBIG.
    const outcomes = await runUnderLimit(2, [path, "300", String(limit), "300"]);
    assert.deepEqual(outcomes, [
      { n: 1, ok: true },
      { n: 2, ok: false, code: "EFBIG" },
      { n: 3, ok: true },
    ]);
    const written = await lines(path);
    assert.deepEqual(
      written.map((r) => r["n"]),
      [1, 3],
    );
  });
});

const CHILD = fileURLToPath(new URL("../helpers/audit-file-child.ts", import.meta.url));

/** Runs audit-file-child.ts with `args` under a file size limit of `blocks`; its reported outcomes. */
async function runUnderLimit(blocks: number, args: readonly string[]): Promise<unknown[]> {
  const { command, args: wrapped } = underFileSizeLimit(blocks, process.execPath, [
    "--import",
    "tsx",
    CHILD,
    ...args,
  ]);
  const child = spawn(command, wrapped, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  assert.equal(code, 0, stderr);
  return stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as unknown);
}
