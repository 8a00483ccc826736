/**
 * Rate limits and lockout for `POST /api/v1/login`:
 * - per client address, at most {@link LoginGuardOptions.maxFailuresPerAddress} failed logins in a
 *   window: one address guessing at many accounts is stopped;
 * - per account name, {@link LoginGuardOptions.maxFailuresPerAccount} failures in a row lock the
 *   name for {@link LoginGuardOptions.lockoutMs}: many addresses guessing at one account are
 *   stopped. Names are counted whether an account exists or not, so a lockout says nothing about
 *   which names exist; a success resets the name's count.
 * Both are checked before the password is, so a locked name or a blocked address costs no scrypt
 * work. State is in memory and bounded: past {@link MAX_TRACKED_KEYS} names or addresses the
 * oldest entries are forgotten first. A name's lock is also told to
 * {@link LoginGuardOptions.onLockChange} when it is set, lifted or forgotten, and a guard starts
 * from {@link LoginGuardOptions.locks}: the console keeps locks in its store, so that a restart
 * does not lift them (the counts of failures and the address windows start again). Where locks
 * are kept, another process may lift one (`wms-console user unlock`, another console on the same
 * store): whenever the guard meets a lock of its own (an attempt at a locked name, or
 * {@link LoginGuard.lockedUntil}), it asks {@link LoginGuardOptions.lockHeld} whether the lock is
 * still kept, and forgets the lock and the name's failures when it is not. Only locked names are
 * asked about: one question per attempt at a locked name (on SQLite a read by the key, about
 * 10 µs, less than the HTTP handling and refusal record of the attempt itself).
 */

/** The key of an account name's count and lock (NFC, lower case): `Alice` and `alice` are one. */
export function loginLockName(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

/** Names and addresses tracked at most, each: about 100 bytes each, 1 MB in all. */
export const MAX_TRACKED_KEYS = 10_000;

/** Options of {@link createLoginGuard}. */
export interface LoginGuardOptions {
  /**
   * Failed logins from one address per window. 20: a person who mistypes does not get there, a
   * classroom behind one NAT address rarely does, a guesser gets 20 tries per window. @default 20
   */
  readonly maxFailuresPerAddress?: number;
  /** The address window, in milliseconds. @default 600000 (10 minutes) */
  readonly addressWindowMs?: number;
  /** Failures in a row that lock an account name. @default 5 */
  readonly maxFailuresPerAccount?: number;
  /**
   * How long a locked name stays locked, in milliseconds: 15 minutes makes an online guess at one
   * account about 480 tries a day, and a person locked out by someone else waits a coffee break.
   * @default 900000
   */
  readonly lockoutMs?: number;
  /** The clock, in milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Locks to start from (kept from before a restart): the name's key and when it ends, ms. */
  readonly locks?: Iterable<{ readonly name: string; readonly untilMs: number }>;
  /**
   * Hears of each change of a name's lock, by the name's key (NFC, lower case): locked until
   * `untilMs`, or `undefined` when lifted (an admin's unlock, a success after it ended) or
   * forgotten (past {@link MAX_TRACKED_KEYS} names). Called synchronously; must not throw.
   */
  readonly onLockChange?: (name: string, untilMs: number | undefined) => void;
  /**
   * Whether the lock the guard holds on a name (by its key) is still kept where locks are kept,
   * asked each time the guard meets the lock: `false` when another process lifted it, and the
   * guard then forgets the lock and the name's failures (as an admin's {@link LoginGuard.unlock}
   * does). A rejection counts as held: a lock is never lifted for want of an answer.
   * @default none: the guard's locks are its own, lifted only by time, a success after one ended,
   * and {@link LoginGuard.unlock}
   */
  readonly lockHeld?: (name: string) => Promise<boolean>;
}

/** Why a login is refused before its password is checked. */
export interface LoginBlock {
  /** Seconds until a retry can succeed (the `Retry-After` header). */
  readonly retryAfterSeconds: number;
  /** `address`: too many failures from this address; `account`: the name is locked. */
  readonly reason: "address" | "account";
}

/** The limiter of logins. */
export interface LoginGuard {
  /** Whether a login for `name` from `address` may be tried now. */
  check(address: string, name: string): Promise<LoginBlock | undefined>;
  /** Records a failed login (wrong name or wrong password alike). */
  failed(address: string, name: string): void;
  /** Records a successful login: the name's count starts again. */
  succeeded(address: string, name: string): void;
  /** Until when the name is locked (ms since the epoch), or `undefined` when it is not. */
  lockedUntil(name: string): Promise<number | undefined>;
  /** Lifts the name's lock and forgets its failures (an admin vouches for the person). */
  unlock(name: string): void;
}

interface Counter {
  failures: number;
  /** When the window (address) or the lock (account) ends; 0 when not locked. */
  until: number;
}

/**
 * Puts a key last (most recent) in a bounded map, forgetting the oldest when full (each told to
 * `forgotten`).
 */
function touch(
  map: Map<string, Counter>,
  key: string,
  value: Counter,
  forgotten: (key: string, counter: Counter) => void = () => {},
) {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_TRACKED_KEYS) {
    const oldest = map.entries().next().value;
    if (oldest === undefined) break;
    map.delete(oldest[0]);
    forgotten(oldest[0], oldest[1]);
  }
}

/** Creates a login guard. */
export function createLoginGuard(options: LoginGuardOptions = {}): LoginGuard {
  const maxPerAddress = options.maxFailuresPerAddress ?? 20;
  const windowMs = options.addressWindowMs ?? 600_000;
  const maxPerAccount = options.maxFailuresPerAccount ?? 5;
  const lockoutMs = options.lockoutMs ?? 900_000;
  const now = options.now ?? Date.now;
  const addresses = new Map<string, Counter>();
  const accounts = new Map<string, Counter>();
  const accountKey = loginLockName;
  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
  const onLockChange = options.onLockChange ?? (() => {});
  /** Tells of a forgotten name's lock if it had one (ended or not). */
  const forgetAccount = (key: string, counter: Counter | undefined) => {
    if (counter?.until !== undefined && counter.until !== 0) onLockChange(key, undefined);
  };
  /** Forgets a name's count and its lock. */
  const forget = (name: string) => {
    const key = accountKey(name);
    forgetAccount(key, accounts.get(key));
    accounts.delete(key);
  };
  const lockHeld = options.lockHeld;
  /**
   * The name's lock if it has one now, asked of {@link LoginGuardOptions.lockHeld}: a lock lifted
   * elsewhere is forgotten with the name's failures (no {@link LoginGuardOptions.onLockChange}: it
   * is gone already), unless the name was locked again while the answer came.
   */
  const currentLock = async (name: string): Promise<Counter | undefined> => {
    const key = accountKey(name);
    const locked = accounts.get(key);
    if (locked === undefined || locked.until <= now()) return undefined;
    if (lockHeld === undefined) return locked;
    const until = locked.until;
    const held = await lockHeld(key).catch(() => true);
    if (!held && accounts.get(key) === locked && locked.until === until) accounts.delete(key);
    const after = accounts.get(key);
    return after !== undefined && after.until > now() ? after : undefined;
  };
  for (const lock of options.locks ?? []) {
    touch(accounts, lock.name, { failures: maxPerAccount, until: lock.untilMs }, forgetAccount);
  }

  return {
    async check(address, name) {
      const time = now();
      const byAddress = addresses.get(address);
      if (
        byAddress !== undefined &&
        byAddress.until > time &&
        byAddress.failures >= maxPerAddress
      ) {
        return { reason: "address", retryAfterSeconds: seconds(byAddress.until - time) };
      }
      const byAccount = await currentLock(name);
      if (byAccount !== undefined) {
        return { reason: "account", retryAfterSeconds: seconds(byAccount.until - now()) };
      }
      return undefined;
    },
    failed(address, name) {
      const time = now();
      const byAddress = addresses.get(address);
      const current =
        byAddress === undefined || byAddress.until <= time
          ? { failures: 0, until: time + windowMs }
          : byAddress;
      current.failures += 1;
      touch(addresses, address, current);
      const key = accountKey(name);
      const byAccount = accounts.get(key) ?? { failures: 0, until: 0 };
      if (byAccount.until !== 0 && byAccount.until <= time) {
        byAccount.failures = 0;
        byAccount.until = 0;
      }
      byAccount.failures += 1;
      if (byAccount.failures >= maxPerAccount) {
        byAccount.until = time + lockoutMs;
        onLockChange(key, byAccount.until);
      }
      touch(accounts, key, byAccount, forgetAccount);
    },
    succeeded(_address, name) {
      forget(name);
    },
    async lockedUntil(name) {
      return (await currentLock(name))?.until;
    },
    unlock(name) {
      forget(name);
    },
  };
}
