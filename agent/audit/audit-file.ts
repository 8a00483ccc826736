/**
 * The audit log as a JSON-lines file: one record per mutating call (disconnect, log off, message),
 * on disk before the call's answer is sent.
 *
 * Records are written by one writer at a time, so lines never interleave and none is lost when
 * calls run concurrently. Records that arrive while a write is under way are written together
 * in the next one (group commit): one `write` and one `fdatasync` per batch, so durability costs
 * a disk flush per burst of calls rather than per call.
 *
 * `reopen` supports rotation (move the file away, then SIGHUP): the writer switches to a new
 * handle between two batches, and records before the switch are in the old file, records after it
 * in the new one.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { AuditRecord, AuditSink } from "../server/access.js";

/** An audit sink that owns an open file. */
export interface FileAuditSink extends AuditSink {
  /** The file being appended to. */
  readonly path: string;
  /**
   * Opens `path` (by default the same path again, e.g. after the file was moved away) and writes
   * every later record there. If the open fails, the old file stays in use and the error is thrown.
   */
  reopen(path?: string): Promise<void>;
  /** Writes what is pending, then closes the file; later writes are rejected. */
  close(): Promise<void>;
}

/** Options of {@link openFileAuditSink}. */
export interface FileAuditSinkOptions {
  /**
   * Flush each batch to the disk (`fdatasync`) before its calls are answered.
   * @default true — an audit record that a power cut can erase is no record
   */
  readonly sync?: boolean;
}

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type Step =
  | { readonly kind: "records"; readonly records: Pending[] }
  | {
      readonly kind: "switch";
      readonly handle: FileHandle;
      readonly path: string;
      readonly done: () => void;
    };

/**
 * Opens (creating with mode 0600 if needed) `path` for appending.
 * @throws the `open` error (missing folder, no permission) so start-up can report it.
 */
export async function openFileAuditSink(
  path: string,
  options: FileAuditSinkOptions = {},
): Promise<FileAuditSink> {
  const sync = options.sync ?? true;
  let handle: FileHandle = await open(path, "a", 0o600);
  let currentPath = path;
  const steps: Step[] = [];
  let writing = false;
  let closed = false;
  let idle: (() => void)[] = [];

  const run = async () => {
    writing = true;
    try {
      for (let step = steps.shift(); step !== undefined; step = steps.shift()) {
        if (step.kind === "switch") {
          const old = handle;
          handle = step.handle;
          currentPath = step.path;
          await old.close().catch(() => undefined);
          step.done();
          continue;
        }
        try {
          await handle.appendFile(step.records.map((r) => r.line).join(""), "utf8");
          if (sync) await handle.datasync();
          for (const record of step.records) record.resolve();
        } catch (error) {
          for (const record of step.records) record.reject(error);
        }
      }
    } finally {
      writing = false;
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    }
  };
  const kick = () => {
    if (!writing) void run();
  };
  const drained = () =>
    writing || steps.length > 0 ? new Promise<void>((resolve) => idle.push(resolve)) : undefined;

  return {
    get path() {
      return currentPath;
    },
    write(record: AuditRecord) {
      if (closed) return Promise.reject(new Error(`the audit log ${currentPath} is closed`));
      const line = `${JSON.stringify(record)}\n`;
      return new Promise<void>((resolve, reject) => {
        const last = steps.at(-1);
        if (last?.kind === "records") last.records.push({ line, resolve, reject });
        else steps.push({ kind: "records", records: [{ line, resolve, reject }] });
        kick();
      });
    },
    async reopen(nextPath = currentPath) {
      if (closed) throw new Error(`the audit log ${currentPath} is closed`);
      const next = await open(nextPath, "a", 0o600);
      await new Promise<void>((done) => {
        steps.push({ kind: "switch", handle: next, path: nextPath, done });
        kick();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await drained();
      await handle.close();
    },
  };
}
