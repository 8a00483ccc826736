/**
 * The audit log as a JSON-lines file: one record per `Disconnect`/`DisconnectAll`, appended before
 * the call's answer is sent. Writes are serialised so concurrent calls never interleave lines.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { AuditRecord, AuditSink } from "./access.js";

/** An audit sink that owns an open file. */
export interface FileAuditSink extends AuditSink {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Opens (creating with mode 0600 if needed) `path` for appending.
 * @throws the `open` error (missing folder, no permission) so start-up can report it.
 */
export async function openFileAuditSink(path: string): Promise<FileAuditSink> {
  const handle: FileHandle = await open(path, "a", 0o600);
  let tail: Promise<void> = Promise.resolve();
  return {
    path,
    write(record: AuditRecord) {
      const line = `${JSON.stringify(record)}\n`;
      const written = tail.then(() => handle.appendFile(line, "utf8"));
      tail = written.catch(() => undefined);
      return written;
    },
    async close() {
      await tail;
      await handle.close();
    },
  };
}
