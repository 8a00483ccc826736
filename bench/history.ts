/**
 * `npm run bench:history`: the console's session history in a real SQLite store (the console's
 * own, in a temporary folder).
 *
 * 1. Insert rate while 1,000 hosts change: the history recorder is fed the fleet model's events
 *    (each host's sessions logging on, locking, disconnecting, logging off, in rounds over every
 *    host) as fast as it takes them, written in its batches; figures: changes recorded per second
 *    and the event loop's longest stall while writing.
 * 2. Size of 90 days of a simulated 1,000-host fleet: school days (Monday to Friday), 20 seats a
 *    host, two classes a day, each logon with an idle crossing, a lock and unlock, and its logoff;
 *    figures: changes, file size, bytes per change.
 * 3. The occupancy query over it: `GET /api/v1/occupancy` for the last day, week and 31 days
 *    (by host, every host), median of a few runs: the store's own count (per-hour runs grouped in
 *    SQL, what the API answers with) and, in the same run, the earlier way (every span of the
 *    window read into JavaScript and counted there), with the ratio; both must agree.
 *
 * Flags: `--hosts 1000 --days 90 --seats 20 --rounds 20 --runs 5 --keep`.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { pino } from "pino";
import type { ApiEvent, ApiSession } from "../console/api/types.js";
import type { Fleet } from "../console/fleet/fleet.js";
import { createHistoryRecorder } from "../console/history/recorder.js";
import { HOUR_MS, occupancy } from "../console/history/occupancy.js";
import { DATABASE_FILE, openSqliteStore } from "../console/store/sqlite-store.js";
import type { NewHistoryEvent } from "../console/store/store.js";

const { values: flags } = parseArgs({
  options: {
    hosts: { type: "string", default: "1000" },
    days: { type: "string", default: "90" },
    seats: { type: "string", default: "20" },
    rounds: { type: "string", default: "20" },
    runs: { type: "string", default: "5" },
    keep: { type: "boolean", default: false },
  },
});
const HOSTS = Number(flags.hosts);
const DAYS = Number(flags.days);
const SEATS = Number(flags.seats);
const ROUNDS = Number(flags.rounds);
const RUNS = Number(flags.runs);
const DAY_MS = 86_400_000;

const hostName = (index: number) => `ws${String(index).padStart(4, "0")}.lab.example.com`;
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** A fleet model that only delivers events (the recorder listens to nothing else). */
function eventSource(): Fleet & { emit(event: ApiEvent): void } {
  const listeners = new Set<(event: ApiEvent) => void>();
  const unused = () => {
    throw new Error("not used by the bench");
  };
  return {
    emit: (event) => listeners.forEach((listener) => listener(event)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setTargets: unused,
    hosts: () => [],
    host: () => undefined,
    target: () => undefined,
    targets: () => [],
    sessions: () => [],
    statusCounts: unused,
    close: () => Promise.resolve(),
  };
}

function session(
  host: string,
  id: number,
  state: ApiSession["state"],
  user: string,
  locked: boolean,
  logonTime: string,
): ApiSession {
  return {
    host,
    sessionId: id,
    state,
    user,
    domain: user === "" ? "" : "LAB",
    station: `Station ${id}`,
    client: "",
    logonTime: user === "" ? null : logonTime,
    lastInputTime: null,
    idleSeconds: null,
    locked,
    protection: null,
    note: null,
    groups: user === "" ? [] : ["LAB\\Students"],
  };
}

async function insertRate(dir: string) {
  const sqlite = openSqliteStore({ dataDir: join(dir, "rate") });
  // The longest batch write: how long the recorder holds the event loop at most.
  let longestBatchMs = 0;
  let batches = 0;
  const store = new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property === "appendHistory") {
        return async (events: readonly NewHistoryEvent[]) => {
          const t0 = performance.now();
          await target.appendHistory(events);
          longestBatchMs = Math.max(longestBatchMs, performance.now() - t0);
          batches += 1;
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
  const fleet = eventSource();
  const recorder = createHistoryRecorder({ store, fleet, logger: pino({ level: "silent" }) });
  const online = (host: string) =>
    fleet.emit({
      type: "host",
      host: {
        host,
        address: "127.0.0.1:1",
        status: "online",
        since: "",
        lastAnswer: null,
        lastChange: null,
        version: null,
        backend: null,
        counts: {},
        locked: 0,
        problem: null,
      },
    });
  for (let h = 0; h < HOSTS; h++) {
    fleet.emit({ type: "sessions", host: hostName(h), replace: true, changes: [] });
    online(hostName(h));
  }
  // Each round, every host's every seat changes once: log on, lock, disconnect, log off in turn.
  const steps: [ApiSession["state"], boolean, boolean][] = [
    ["ACTIVE", false, true],
    ["ACTIVE", true, true],
    ["DISCONNECTED", true, true],
    ["ACTIVE", false, false],
  ];
  const cycleBase = Date.now() - 3_600_000;
  const started = performance.now();
  let changes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const [state, locked, loggedOn] = steps[round % steps.length] as (typeof steps)[number];
    // One logon per cycle of the four steps.
    const logonTime = new Date(cycleBase + Math.floor(round / steps.length) * 1000).toISOString();
    for (let h = 0; h < HOSTS; h++) {
      const host = hostName(h);
      fleet.emit({
        type: "sessions",
        host,
        replace: false,
        changes: Array.from({ length: SEATS }, (_, s) => ({
          kind: "changed" as const,
          session: session(host, s + 1, state, loggedOn ? `pupil${s}` : "", locked, logonTime),
        })),
      });
      changes += SEATS;
    }
    await recorder.flush();
  }
  const seconds = (performance.now() - started) / 1000;
  const recorded = (await store.queryHistory({ limit: 1 }))[0]?.id ?? 0;
  await recorder.close();
  await store.close();
  return {
    changesSeen: changes,
    recorded,
    seconds,
    perSecond: recorded / seconds,
    batches,
    longestBatchMs,
  };
}

/** 90 days of a school's fleet, written in the recorder's batch size. */
async function ninetyDays(dir: string) {
  const store = openSqliteStore({ dataDir: join(dir, "days") });
  const end = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const start = end - DAYS * DAY_MS;
  const started = performance.now();
  let changes = 0;
  let batch: NewHistoryEvent[] = [];
  const push = async (event: NewHistoryEvent) => {
    batch.push(event);
    changes += 1;
    if (batch.length >= 5000) {
      await store.appendHistory(batch);
      batch = [];
    }
  };
  for (let day = 0; day < DAYS; day++) {
    const midnight = start + day * DAY_MS;
    const weekday = new Date(midnight).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (const classStart of [8 * HOUR_MS, 13 * HOUR_MS]) {
      for (let h = 0; h < HOSTS; h++) {
        const host = hostName(h);
        for (let seat = 1; seat <= SEATS; seat++) {
          const user = `LAB\\pupil${(h * SEATS + seat + day) % 5000}`;
          const t = midnight + classStart + ((h * 7 + seat * 13) % 600) * 1000;
          const e = (offset: number, kind: NewHistoryEvent["kind"], detail = "") =>
            push({ time: new Date(t + offset), host, sessionId: seat, user, kind, detail });
          await e(0, "logon", "ACTIVE");
          await e(40 * 60_000, "idle", "30m");
          await e(50 * 60_000, "lock");
          await e(55 * 60_000, "unlock");
          await e(3 * HOUR_MS + (seat % 7) * 60_000, "logoff");
        }
      }
    }
  }
  await store.appendHistory(batch);
  const writeSeconds = (performance.now() - started) / 1000;
  await store.close();
  const file = join(dir, "days", DATABASE_FILE);
  const bytes =
    (await stat(file)).size + (await stat(`${file}-wal`).catch(() => ({ size: 0 }))).size;

  const reopened = openSqliteStore({ dataDir: join(dir, "days") });
  const query = async (windowMs: number) => {
    const inSql: number[] = [];
    const inJs: number[] = [];
    let cells = 0;
    for (let run = 0; run < RUNS; run++) {
      const to = end - 2 * DAY_MS;
      const from = to - windowMs;
      const t0 = performance.now();
      const counted = await reopened.hourlyOccupancy(new Date(from), new Date(to));
      inSql.push(performance.now() - t0);
      const t1 = performance.now();
      const reference = occupancy(
        await reopened.usageSpans(new Date(from), new Date(to)),
        from,
        to,
      );
      inJs.push(performance.now() - t1);
      cells = counted.hosts.size * counted.hours.length;
      for (const [host, counts] of reference.hosts) {
        if (counted.hosts.get(host)?.join(",") !== counts.join(",")) {
          throw new Error(`the two counts differ for ${host}`);
        }
      }
      if (counted.hosts.size !== reference.hosts.size) throw new Error("the two counts differ");
    }
    return { medianMs: median(inSql), jsMedianMs: median(inJs), cells };
  };
  const queries = {
    day: await query(DAY_MS),
    week: await query(7 * DAY_MS),
    month: await query(31 * DAY_MS),
  };
  await reopened.close();
  return { changes, writeSeconds, perSecond: changes / writeSeconds, bytes, queries };
}

const dir = await mkdtemp(join(tmpdir(), "wms-bench-history-"));
try {
  process.stdout.write(
    `history bench: ${HOSTS} hosts, ${SEATS} seats each, ${DAYS} days (${dir})\n`,
  );
  const rate = await insertRate(dir);
  process.stdout.write(
    `insert rate while ${HOSTS} hosts change: ${rate.recorded} changes recorded (${rate.changesSeen} session updates seen) in ${rate.seconds.toFixed(2)} s = ${Math.round(rate.perSecond)} changes/s; ${rate.batches} batches, the longest written in ${rate.longestBatchMs.toFixed(0)} ms (the event loop's longest hold by the history)\n`,
  );
  const days = await ninetyDays(dir);
  process.stdout.write(
    `${DAYS} days of ${HOSTS} hosts: ${days.changes} changes written in ${days.writeSeconds.toFixed(1)} s (${Math.round(days.perSecond)} changes/s in batches of 5000); store ${(days.bytes / 2 ** 20).toFixed(0)} MiB = ${(days.bytes / days.changes).toFixed(0)} bytes a change (indexes and usage spans included)\n`,
  );
  for (const [window, q] of Object.entries(days.queries)) {
    process.stdout.write(
      `occupancy by host over the last ${window}: ${q.medianMs.toFixed(0)} ms median of ${RUNS} counted in SQL, ${q.jsMedianMs.toFixed(0)} ms every span counted in JavaScript (${(q.jsMedianMs / q.medianMs).toFixed(1)}x) (${q.cells} host-hours)\n`,
    );
  }
} finally {
  if (!flags.keep) await rm(dir, { recursive: true, force: true });
}
