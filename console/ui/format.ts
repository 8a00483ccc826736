/** How times, durations and counts are written on the page. */

/** `2h 05m`, `4m 10s`, `35s`: an idle time or a grace period, to the second below an hour. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "—";
  const seconds = Math.floor(ms / 1000);
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  if (days > 0) return `${days}d ${two(hours)}h`;
  if (hours > 0) return `${hours}h ${two(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${two(rest)}s`;
  return `${rest}s`;
}

/** `14:03:27` today, `28 Nov 14:03` before: a time the person reads in their own zone. */
export function formatTime(ms: number | undefined, nowMs: number = Date.now()): string {
  if (ms === undefined) return "—";
  const date = new Date(ms);
  const today = new Date(nowMs);
  if (date.toDateString() === today.toDateString()) {
    return date.toLocaleTimeString(undefined, { hour12: false });
  }
  return date.toLocaleString(undefined, {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}

/** `3 s ago`, `5 min ago`, `2 h ago`: how long ago, coarse. */
export function formatAgo(ms: number | undefined, nowMs: number = Date.now()): string {
  if (ms === undefined) return "never";
  const seconds = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** `1 session`, `37 sessions`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString("en")} ${count === 1 ? one : many}`;
}

/**
 * Reads a duration as people type it: `15m`, `1h30m`, `90s`, `2h`, or a bare number of
 * minutes. Returns milliseconds, or a message saying what is wrong.
 */
export function parseDuration(text: string): { ms: number } | { error: string } {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "") return { ms: 0 };
  if (/^\d+$/.test(trimmed)) return { ms: Number(trimmed) * 60_000 };
  const units: Readonly<Record<string, number>> = {
    d: 86_400_000,
    h: 3_600_000,
    m: 60_000,
    s: 1000,
  };
  const pattern = /\s*(\d+)\s*([dhms])/gy;
  let ms = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    ms += Number(match[1]) * (units[match[2] ?? ""] ?? 0);
    consumed = (match.index ?? 0) + match[0].length;
  }
  if (consumed !== trimmed.length || consumed === 0) {
    return { error: `"${text}" is not a duration: write it as 15m, 1h30m, 90s or minutes alone` };
  }
  return { ms };
}

/**
 * Compares names as people expect (`lab-2` before `lab-10`, case aside), fast enough to sort
 * 20,000 rows often: one collator made once, not one per comparison as `localeCompare` makes.
 */
export const compareText: (a: string, b: string) => number = new Intl.Collator(undefined, {
  numeric: true,
  sensitivity: "base",
}).compare;
