/**
 * Runs a program on a real pseudo-terminal and types into it, for tests of what a person at a
 * terminal sees (prompts, a live table, Ctrl-C). Node has no pty of its own; Python's standard `pty`
 * module drives it: tests are skipped where {@link HAS_PTY} is false.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Whether `python3` with its `pty` module is there to drive a pseudo-terminal. */
export const HAS_PTY = spawnSync("python3", ["-c", "import pty"]).status === 0;

/** Ctrl-C as typed on a terminal. */
export const CTRL_C = "\x03";

/** Keys typed once `after` has appeared `occurrence` times (1 by default) in the output so far. */
export interface PtyStep {
  readonly after: string;
  readonly occurrence?: number;
  readonly keys: string;
}

/** The program's exit status (128 + n for a signal) and all it wrote to the terminal. */
export interface PtyRun {
  readonly status: number;
  readonly output: string;
}

/** The terminal's size: rows and columns (the pty's default when not set). */
export interface PtySize {
  readonly rows: number;
  readonly columns: number;
}

/**
 * Types each step's keys in turn when its text has appeared; gives up when the program writes
 * nothing for 30 s (`silenceSeconds`), so a prompt that never comes fails the test, not the suite.
 */
const DRIVER = `
import fcntl, json, os, pty, select, struct, sys, termios
argv, steps, size = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
if size:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
out = b""
while True:
    if not select.select([fd], [], [], 30)[0]:
        sys.exit("no output for 30 s")
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
    while steps and out.count(steps[0][0].encode()) >= steps[0][1]:
        os.write(fd, steps.pop(0)[2].encode())
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
`;

/** Runs `argv` (from the repository's root) on a pty, typing each step's keys when it is due. */
export async function runOnPty(
  argv: readonly string[],
  steps: readonly PtyStep[],
  size?: PtySize,
): Promise<PtyRun> {
  const child = spawn(
    "python3",
    [
      "-c",
      DRIVER,
      JSON.stringify(argv),
      JSON.stringify(steps.map((s) => [s.after, s.occurrence ?? 1, s.keys])),
      JSON.stringify(size === undefined ? null : [size.rows, size.columns]),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [status] = (await once(child, "close")) as [number];
  return { status, output };
}
