/**
 * Anonymous refusals in the audit trail, bounded. A request refused before anybody is
 * authenticated (no credentials, a bad or revoked token, an ended session: `denied`
 * `unauthenticated`; a login refused by the rate limit: `login` `too_many_attempts`) costs its
 * sender nothing, so a flood of them must not grow the store without end. In each window of
 * {@link REFUSAL_WINDOW_MS} (aligned on the clock):
 * - an address gets at most {@link MAX_REFUSAL_RECORDS_PER_ADDRESS} records of its own, and all
 *   addresses together at most {@link MAX_REFUSAL_RECORDS_PER_WINDOW};
 * - what is over is counted, and written once the window has ended as one `refusals`
 *   `coalesced` record per address (its count, outcomes and paths), for the
 *   {@link MAX_REFUSAL_SUMMARIES_PER_WINDOW} addresses with the most, and one record for all the
 *   others (address `*`);
 * - at most {@link MAX_TRACKED_REFUSAL_ADDRESSES} addresses are counted one by one; past that,
 *   refusals go to the others' count.
 * So refusals add at most 20 + 10 + 1 records a minute, whatever the flood (about 45,000 a day,
 * under 20 MB a day; `--audit-days` bounds how many days stay). A refused request by a signed-in
 * account (wrong role, CSRF) is not anonymous: always recorded whole. Wrong passwords are
 * recorded whole too: the login limits already bound them per address and per account.
 */
import type { NewAuditEntry } from "../store/store.js";

/** The window over which refusals are counted, in milliseconds: a minute. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Whole records of one address's refusals per window: enough to see what it tried. */
export const MAX_REFUSAL_RECORDS_PER_ADDRESS = 5;
/** Whole records of refusals per window, all addresses together. */
export const MAX_REFUSAL_RECORDS_PER_WINDOW = 20;
/** Per-address summaries per window; the rest are summed up in one record for address `*`. */
export const MAX_REFUSAL_SUMMARIES_PER_WINDOW = 10;
/** Addresses counted one by one in a window (about 200 bytes each: 2 MB at most). */
export const MAX_TRACKED_REFUSAL_ADDRESSES = 10_000;
/** Distinct paths and outcomes kept in a summary's counts; the rest are counted as `other`. */
export const MAX_SUMMARY_KEYS = 20;

/** The address of the summary of every address not summarised on its own. */
export const OTHER_ADDRESSES = "*";

interface Tally {
  /** Whole records written this window. */
  written: number;
  /** Refusals counted instead of written. */
  coalesced: number;
  /**
   * Addresses in this tally: 1, except for the others' one (the addresses summed up in it, not
   * counting those past {@link MAX_TRACKED_REFUSAL_ADDRESSES}).
   */
  addresses: number;
  first: number;
  last: number;
  readonly outcomes: Map<string, number>;
  readonly paths: Map<string, number>;
}

function newTally(time: number): Tally {
  return {
    written: 0,
    coalesced: 0,
    addresses: 1,
    first: time,
    last: time,
    outcomes: new Map(),
    paths: new Map(),
  };
}

function countKey(map: Map<string, number>, key: string, by = 1): void {
  const known = map.has(key) || map.size < MAX_SUMMARY_KEYS ? key : "other";
  map.set(known, (map.get(known) ?? 0) + by);
}

/** Decides which anonymous refusals are recorded whole, and sums up the rest. */
export interface RefusalLimiter {
  /**
   * Whether `entry` (an anonymous refusal) is to be written now; when not, it is counted for its
   * window's summary.
   */
  admit(entry: NewAuditEntry): boolean;
  /**
   * The summaries of the windows that ended by now, each once; with `all`, the current window's
   * too (the console is stopping).
   */
  drain(all?: boolean): NewAuditEntry[];
}

/** Creates a limiter on the clock `now` (milliseconds). */
export function createRefusalLimiter(now: () => number = Date.now): RefusalLimiter {
  let window = Math.floor(now() / REFUSAL_WINDOW_MS);
  let written = 0;
  let byAddress = new Map<string, Tally>();
  let others: Tally | undefined;
  const ready: NewAuditEntry[] = [];

  const summary = (address: string, tally: Tally, end: number): NewAuditEntry => ({
    time: new Date(end),
    actor: "-",
    auth: "none",
    address,
    action: "refusals",
    outcome: "coalesced",
    hosts: [],
    detail: {
      count: tally.coalesced,
      ...(address === OTHER_ADDRESSES ? { addresses: tally.addresses } : {}),
      from: new Date(tally.first).toISOString(),
      to: new Date(tally.last).toISOString(),
      outcomes: Object.fromEntries(tally.outcomes),
      paths: Object.fromEntries(tally.paths),
      reason: `anonymous refusals over ${MAX_REFUSAL_RECORDS_PER_ADDRESS} from one address or ${MAX_REFUSAL_RECORDS_PER_WINDOW} in all in ${REFUSAL_WINDOW_MS / 1000} s are counted, not recorded one by one`,
    },
  });

  /** Moves the current window's summaries to `ready` and starts window `next`. */
  const close = (next: number) => {
    const end = Math.min(now(), (window + 1) * REFUSAL_WINDOW_MS - 1);
    const over = [...byAddress].filter(([, tally]) => tally.coalesced > 0);
    over.sort((a, b) => b[1].coalesced - a[1].coalesced);
    for (const [address, tally] of over.slice(0, MAX_REFUSAL_SUMMARIES_PER_WINDOW)) {
      ready.push(summary(address, tally, end));
    }
    let rest = others;
    for (const [, tally] of over.slice(MAX_REFUSAL_SUMMARIES_PER_WINDOW)) {
      if (rest === undefined) {
        rest = { ...tally, outcomes: new Map(tally.outcomes), paths: new Map(tally.paths) };
        continue;
      }
      rest.coalesced += tally.coalesced;
      rest.addresses += 1;
      rest.first = Math.min(rest.first, tally.first);
      rest.last = Math.max(rest.last, tally.last);
      for (const [key, n] of tally.outcomes) countKey(rest.outcomes, key, n);
      for (const [key, n] of tally.paths) countKey(rest.paths, key, n);
    }
    if (rest !== undefined && rest.coalesced > 0) ready.push(summary(OTHER_ADDRESSES, rest, end));
    window = next;
    written = 0;
    byAddress = new Map();
    others = undefined;
  };

  const roll = () => {
    const current = Math.floor(now() / REFUSAL_WINDOW_MS);
    if (current !== window) close(current);
  };

  return {
    admit(entry) {
      roll();
      const time = now();
      let tally = byAddress.get(entry.address);
      if (tally === undefined && byAddress.size < MAX_TRACKED_REFUSAL_ADDRESSES) {
        tally = newTally(time);
        byAddress.set(entry.address, tally);
      }
      if (
        tally !== undefined &&
        tally.written < MAX_REFUSAL_RECORDS_PER_ADDRESS &&
        written < MAX_REFUSAL_RECORDS_PER_WINDOW
      ) {
        tally.written += 1;
        written += 1;
        return true;
      }
      if (tally === undefined) {
        // Past the tracked addresses: counted, but not as an address of its own.
        others ??= { ...newTally(time), addresses: 0 };
        tally = others;
      }
      if (tally.coalesced === 0) tally.first = time;
      tally.coalesced += 1;
      tally.last = time;
      countKey(tally.outcomes, `${entry.action} ${entry.outcome}`);
      const text = (value: unknown) => (typeof value === "string" ? value : "");
      countKey(
        tally.paths,
        `${text(entry.detail["method"])} ${text(entry.detail["path"])}`.slice(0, 300),
      );
      return false;
    },
    drain(all = false) {
      if (all) close(Math.floor(now() / REFUSAL_WINDOW_MS));
      else roll();
      return ready.splice(0);
    },
  };
}
