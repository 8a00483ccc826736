/**
 * A full disk, for real: a child process run under a file size limit (`RLIMIT_FSIZE`, set by the
 * shell's `ulimit -f`). A write that would cross the limit writes what fits and then fails with
 * `EFBIG`, exactly as a write to a full disk stops part-way with `ENOSPC` (Node ignores the
 * `SIGXFSZ` signal that comes with it). No privileges, no loop devices, no tmpfs needed.
 */

/** The unit of `ulimit -f` in a POSIX shell. */
export const ULIMIT_BLOCK_BYTES = 512;

/**
 * `command` and `args` for `spawn`, wrapped so that the process cannot make a file larger than
 * `blocks` × {@link ULIMIT_BLOCK_BYTES} bytes.
 */
export function underFileSizeLimit(
  blocks: number,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  if (!Number.isInteger(blocks) || blocks <= 0) throw new TypeError(`blocks: ${blocks}`);
  return {
    command: "/bin/sh",
    args: ["-c", `ulimit -f ${blocks} && exec "$0" "$@"`, command, ...args],
  };
}
