/**
 * The audit log as a JSON-lines file: one line per record, on disk before the call goes on.
 *
 * Records are written by one writer at a time, so lines never interleave and none is lost when
 * calls run concurrently. Records that arrive while a write is under way are written together
 * in the next one (group commit): one `write` and one `fdatasync` per batch, so durability costs
 * a disk flush per burst of calls rather than per call.
 *
 * What can go wrong with a file, and what the writer does about it:
 * - **A write that fails part-way** (disk full, file size limit) would leave a torn line that
 *   glues itself to the next record, and a JSON-lines reader would lose both. The writer knows
 *   how many bytes of the batch reached the file and truncates them away, back to the last whole
 *   record; when even that fails, the next batch starts with a line break. A file that already
 *   ends in a torn line when it is opened (a crash, another writer) gets the same line break.
 * - **The file is deleted or moved away** (a log rotation without SIGHUP, a mistaken `rm`):
 *   before each batch the writer compares the path with the file it holds (device and inode),
 *   and when they differ it opens the path again, creating the file. If that fails (the folder
 *   is gone), the batch fails: a record is never written to a file nobody can read.
 * - `reopen` (SIGHUP) switches to the path again, or to a new one, between two batches.
 */
import { open, stat, type FileHandle } from "node:fs/promises";
import type { Logger } from "pino";
import type { AuditSink } from "./audit-record.js";

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
   * Flush each batch to the disk (`fdatasync`) before its records count as written.
   * @default true — an audit record that a power cut can erase is no record
   */
  readonly sync?: boolean;
  /** Told when the file is reopened by itself or a torn write is repaired. @default silent */
  readonly logger?: Logger;
}

/** The file the writer holds, and what identifies it on the disk. */
interface HeldFile {
  readonly handle: FileHandle;
  readonly path: string;
  readonly dev: bigint;
  readonly ino: bigint;
  /** The file does not end with a line break (a torn record): the next write starts with one. */
  torn: boolean;
}

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type Step =
  | { readonly kind: "records"; readonly records: Pending[] }
  | { readonly kind: "switch"; readonly file: HeldFile; readonly done: () => void };

const NEWLINE = 0x0a;

/**
 * Opens (creating with mode 0600 if needed) `path` for appending.
 * @throws the `open` error (missing folder, no permission) so start-up can report it.
 */
export async function openFileAuditSink(
  path: string,
  options: FileAuditSinkOptions = {},
): Promise<FileAuditSink> {
  const sync = options.sync ?? true;
  const logger = options.logger;
  let file = await openHeld(path);
  const steps: Step[] = [];
  let writing = false;
  let closed = false;
  let idle: (() => void)[] = [];

  /** Switches to `next`, closing the file held until now. */
  const switchTo = async (next: HeldFile) => {
    const old = file;
    file = next;
    if (old.handle !== next.handle) await old.handle.close().catch(() => undefined);
  };

  /** Opens the path again when it no longer names the file held (deleted, moved, replaced). */
  const followPath = async () => {
    let reason: string | undefined;
    try {
      const onDisk = await stat(file.path, { bigint: true });
      if (onDisk.dev !== file.dev || onDisk.ino !== file.ino) {
        reason = "the path names another file (moved away or replaced)";
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      reason = "the file was deleted or moved away";
    }
    if (reason === undefined) return;
    await switchTo(await openHeld(file.path));
    logger?.warn({ path: file.path, reason }, "audit file reopened");
  };

  /** Removes the `written` bytes of a failed batch, so the file ends with a whole record again. */
  const repair = async (written: number, cause: unknown) => {
    try {
      const { size } = await file.handle.stat();
      await file.handle.truncate(size - written);
    } catch (error) {
      file.torn = true;
      logger?.warn(
        { path: file.path, err: error, cause },
        "audit file: a torn record could not be truncated away; the next record starts on a new line",
      );
    }
  };

  const writeBatch = async (records: readonly Pending[]) => {
    await followPath();
    const text = `${file.torn ? "\n" : ""}${records.map((r) => `${r.line}\n`).join("")}`;
    const bytes = Buffer.from(text, "utf8");
    let written = 0;
    try {
      while (written < bytes.length) {
        const { bytesWritten } = await file.handle.write(bytes, written, bytes.length - written);
        if (bytesWritten <= 0) throw new Error(`the audit file ${file.path} accepted no bytes`);
        written += bytesWritten;
      }
    } catch (error) {
      if (written > 0) await repair(written, error);
      throw error;
    }
    file.torn = false;
    if (sync) await file.handle.datasync();
  };

  const run = async () => {
    writing = true;
    try {
      for (let step = steps.shift(); step !== undefined; step = steps.shift()) {
        if (step.kind === "switch") {
          await switchTo(step.file);
          step.done();
          continue;
        }
        try {
          await writeBatch(step.records);
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
      return file.path;
    },
    write(line: string) {
      if (closed) return Promise.reject(new Error(`the audit log ${file.path} is closed`));
      return new Promise<void>((resolve, reject) => {
        const last = steps.at(-1);
        if (last?.kind === "records") last.records.push({ line, resolve, reject });
        else steps.push({ kind: "records", records: [{ line, resolve, reject }] });
        kick();
      });
    },
    async reopen(nextPath = file.path) {
      if (closed) throw new Error(`the audit log ${file.path} is closed`);
      const next = await openHeld(nextPath);
      await new Promise<void>((done) => {
        steps.push({ kind: "switch", file: next, done });
        kick();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await drained();
      await file.handle.close();
    },
  };
}

/**
 * Opens `path` for appending (and reading its last byte), creating it with mode 0600, and notes
 * whether it ends in a torn record.
 */
async function openHeld(path: string): Promise<HeldFile> {
  const handle = await open(path, "a+", 0o600);
  try {
    const { dev, ino, size } = await handle.stat({ bigint: true });
    let torn = false;
    if (size > 0n) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, Number(size - 1n));
      torn = last[0] !== NEWLINE;
    }
    return { handle, path, dev, ino, torn };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}
