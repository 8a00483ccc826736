/**
 * Run as a child process by the audit file tests (under a file size limit): opens the audit file
 * named by argv[2], writes one record per size in argv[3..] (a record of about that many bytes,
 * numbered from 1), each after the previous one settled, and prints one JSON line per write:
 * `{"n":1,"ok":true}` or `{"n":2,"ok":false,"code":"EFBIG"}`.
 */
import { openFileAuditSink } from "../../agent/audit/audit-file.js";

const [path, ...sizes] = process.argv.slice(2);
if (path === undefined) throw new Error("usage: audit-file-child.ts FILE SIZE...");
const sink = await openFileAuditSink(path);
for (const [index, size] of sizes.entries()) {
  const n = index + 1;
  const record = JSON.stringify({ n, padding: "x".repeat(Math.max(0, Number(size) - 24)) });
  try {
    await sink.write(record);
    process.stdout.write(`${JSON.stringify({ n, ok: true })}\n`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    process.stdout.write(`${JSON.stringify({ n, ok: false, code })}\n`);
  }
}
await sink.close();
