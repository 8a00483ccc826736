/**
 * The simulated backend's `sessionOfProcess`: a process's `WMSFLEET_SIM_SESSION`, read from
 * `/proc/<pid>/environ` each time it is asked (protection rule 3 asks once per call from a peer
 * on this host). Read synchronously: procfs answers from memory in tens of microseconds, less
 * than the thread pool's round trips for open, stat, read and close would take.
 *
 * A process that does not exist any more, a process whose environment cannot be read, and a
 * value that is not a session id are errors, never "no session": rule 3 fails closed on them. An
 * exited process that its parent has not reaped yet (a zombie) has an empty `environ`, like a
 * process started with no environment; its state in `stat` tells them apart.
 */
import { readFileSync } from "node:fs";

/**
 * The session named by `variable` in the environment of process `pid`; `undefined` when the
 * process runs without it (or with it empty: no session).
 * @param parse - the variable's value to a session id; `undefined` when it is not one.
 * @throws Error when the process is gone or cannot be read, or the value is not a session id.
 */
export function sessionFromEnviron(
  procRoot: string,
  pid: number,
  variable: string,
  parse: (text: string) => number | undefined,
): number | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new RangeError(`not a process id: ${pid}`);
  let environ: string;
  try {
    environ = readFileSync(`${procRoot}/${pid}/environ`, "latin1");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT" || code === "ESRCH"
        ? `process ${pid} does not exist any more`
        : `the environment of process ${pid} cannot be read (${code ?? String(error)})`,
      { cause: error },
    );
  }
  if (environ === "" && isGone(procRoot, pid)) {
    throw new Error(`process ${pid} does not exist any more`);
  }
  const prefix = `${variable}=`;
  const entry = environ.split("\0").find((item) => item.startsWith(prefix));
  if (entry === undefined || entry === prefix) return undefined;
  const value = entry.slice(prefix.length);
  const session = parse(value);
  if (session === undefined) {
    throw new Error(`process ${pid} has ${variable}=${JSON.stringify(value)}, not a session id`);
  }
  return session;
}

/** Whether the process has exited (a zombie, `Z`, or dead, `X`, in `stat`) or is not there. */
function isGone(procRoot: string, pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, "latin1");
  } catch {
    return true;
  }
  // pid (comm) state ...: comm may hold spaces and parentheses, so read after the last ")".
  const state = stat.slice(stat.lastIndexOf(")") + 1).trim()[0];
  return state === "Z" || state === "X";
}
