/**
 * Occupancy: how many sessions were in use per host and per hour, counted from the usage spans
 * (a logon to its logoff). A session counts in every hour it was logged on for any part of, so
 * an hour's figure is "how many people used this host during that hour". Hours are whole UTC
 * hours; the window is widened to them.
 */
import type { HourlyOccupancy, UsageSpan } from "../store/store.js";

/** One hour, in milliseconds. */
export const HOUR_MS = 3_600_000;

/** Occupancy per host, hour by hour; hosts without any use are left out. */
export type Occupancy = HourlyOccupancy;

/** The hour that holds `ms` (its start). */
export const hourOf = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

/**
 * Counts the spans into the hours of `fromMs`..`toMs` (widened to whole hours), one by one: the
 * reference the store's own count (`ConsoleStore.hourlyOccupancy`, what the API answers with) is
 * held to.
 */
export function occupancy(spans: readonly UsageSpan[], fromMs: number, toMs: number): Occupancy {
  const first = hourOf(fromMs);
  const count = Math.max(1, Math.ceil((toMs - first) / HOUR_MS));
  const hours = Array.from({ length: count }, (_, index) => first + index * HOUR_MS);
  const hosts = new Map<string, number[]>();
  // Each span once: the store's ranges (started inside, ended inside or after, still open) are
  // disjoint.
  for (const span of spans) {
    const start = span.start.getTime();
    const end = span.end?.getTime() ?? toMs;
    const from = Math.max(0, Math.floor((start - first) / HOUR_MS));
    // An end on an hour's boundary does not count in that hour.
    const to = Math.min(count - 1, Math.ceil((end - first) / HOUR_MS) - 1);
    if (to < from) continue;
    let counts = hosts.get(span.host);
    if (counts === undefined) {
      counts = new Array<number>(count).fill(0);
      hosts.set(span.host, counts);
    }
    for (let index = from; index <= to; index++) counts[index] = (counts[index] ?? 0) + 1;
  }
  return { hours, hosts };
}
