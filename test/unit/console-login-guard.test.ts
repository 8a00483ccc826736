/**
 * The login limiter on its own clock: the per-account lockout after failures in a row (reset by a
 * success, ended by time, shown and lifted by an admin), the per-address window, its bounded
 * memory, and the locks it is started from and tells of (the console keeps them in its store).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { MAX_TRACKED_KEYS, createLoginGuard } from "../../console/security/login-guard.js";

it("locks a name after five failures in a row, for the lockout time, whatever the address", async () => {
  let now = 0;
  const guard = createLoginGuard({ now: () => now });
  for (let i = 0; i < 4; i += 1) guard.failed(`10.0.0.${i}`, "Alice");
  assert.equal(await guard.check("10.0.0.9", "alice"), undefined);
  guard.failed("10.0.0.9", "alice");
  assert.deepEqual(await guard.check("10.0.0.10", "ALICE"), {
    reason: "account",
    retryAfterSeconds: 900,
  });
  now = 899_500;
  assert.deepEqual(await guard.check("10.0.0.10", "alice"), {
    reason: "account",
    retryAfterSeconds: 1,
  });
  now = 900_000;
  assert.equal(await guard.check("10.0.0.10", "alice"), undefined);
  // The count starts again after a lock has run out.
  guard.failed("10.0.0.10", "alice");
  assert.equal(await guard.check("10.0.0.10", "alice"), undefined);
});

it("says until when a name is locked, and an admin's unlock lifts it and its failures", async () => {
  let now = 1_000;
  const guard = createLoginGuard({ now: () => now });
  for (let i = 0; i < 4; i += 1) guard.failed("a", "carol");
  assert.equal(await guard.lockedUntil("Carol"), undefined, "failures alone are no lock");
  guard.failed("a", "carol");
  assert.equal(await guard.lockedUntil("CAROL"), 901_000);
  guard.unlock("Carol");
  assert.equal(await guard.lockedUntil("carol"), undefined);
  assert.equal(await guard.check("b", "carol"), undefined);
  // Its failures are forgotten too: four more do not lock it again.
  for (let i = 0; i < 4; i += 1) guard.failed("a", "carol");
  assert.equal(await guard.lockedUntil("carol"), undefined);
  guard.failed("a", "carol");
  now = 901_000 + 901_000;
  assert.equal(await guard.lockedUntil("carol"), undefined, "a lock that ran out is none");
});

it("a success resets the name's count", async () => {
  const guard = createLoginGuard({ now: () => 0 });
  for (let i = 0; i < 4; i += 1) guard.failed("a", "bob");
  guard.succeeded("a", "bob");
  for (let i = 0; i < 4; i += 1) guard.failed("a", "bob");
  assert.equal(await guard.check("a", "bob"), undefined);
});

it("blocks an address after its failures in one window, for any name, until the window ends", async () => {
  let now = 0;
  const guard = createLoginGuard({
    now: () => now,
    maxFailuresPerAddress: 3,
    addressWindowMs: 10_000,
  });
  for (const name of ["a", "b", "c"]) guard.failed("192.0.2.1", name);
  assert.deepEqual(await guard.check("192.0.2.1", "d"), {
    reason: "address",
    retryAfterSeconds: 10,
  });
  assert.equal(await guard.check("192.0.2.2", "d"), undefined);
  now = 10_000;
  assert.equal(await guard.check("192.0.2.1", "d"), undefined);
});

it("forgets the oldest entries past its bound", async () => {
  const guard = createLoginGuard({ now: () => 0, maxFailuresPerAccount: 1 });
  guard.failed("first", "first");
  assert.notEqual(await guard.check("x", "first"), undefined);
  for (let i = 0; i < MAX_TRACKED_KEYS; i += 1) guard.failed(`a${i}`, `n${i}`);
  assert.equal(await guard.check("x", "first"), undefined);
});

it("tells each change of a name's lock, by the name's key, and starts from kept locks", async () => {
  let now = 0;
  const changes: [string, number | undefined][] = [];
  const guard = createLoginGuard({
    now: () => now,
    locks: [{ name: "dave", untilMs: 5_000 }],
    onLockChange: (name, untilMs) => changes.push([name, untilMs]),
  });
  // A kept lock holds from the start, and runs out on time.
  assert.deepEqual(await guard.check("a", "Dave"), { reason: "account", retryAfterSeconds: 5 });
  for (let i = 0; i < 5; i += 1) guard.failed("a", "Érin".normalize("NFD"));
  assert.deepEqual(changes, [["érin", 900_000]]);
  // Failures while not locked, and a success after a lock ran out, lift it in the store too.
  now = 5_000;
  assert.equal(await guard.check("a", "dave"), undefined);
  guard.succeeded("a", "dave");
  guard.unlock("ÉRIN");
  guard.unlock("nobody");
  assert.deepEqual(changes, [
    ["érin", 900_000],
    ["dave", undefined],
    ["érin", undefined],
  ]);
});

it("tells of a lock it forgets past its bound", () => {
  const changes: [string, number | undefined][] = [];
  const guard = createLoginGuard({
    now: () => 0,
    maxFailuresPerAccount: 1,
    onLockChange: (name, untilMs) => changes.push([name, untilMs]),
  });
  guard.failed("first", "first");
  for (let i = 0; i < MAX_TRACKED_KEYS; i += 1) guard.failed(`a${i}`, `n${i}`);
  assert.deepEqual(changes[0], ["first", 900_000]);
  assert.deepEqual(
    changes.find(([name, until]) => name === "first" && until === undefined),
    ["first", undefined],
  );
});

it("asks whether a lock it meets is still kept, only for a locked name; lifted elsewhere, it forgets the lock and the failures", async () => {
  const asked: string[] = [];
  const changes: [string, number | undefined][] = [];
  let kept = true;
  const guard = createLoginGuard({
    now: () => 0,
    lockHeld: (name) => {
      asked.push(name);
      return Promise.resolve(kept);
    },
    onLockChange: (name, untilMs) => changes.push([name, untilMs]),
  });
  for (let i = 0; i < 4; i += 1) guard.failed("a", "Alice");
  assert.equal(await guard.check("a", "alice"), undefined);
  assert.deepEqual(asked, [], "a name that is not locked costs no question");
  guard.failed("a", "alice");
  assert.deepEqual(await guard.check("b", "ALICE"), { reason: "account", retryAfterSeconds: 900 });
  assert.equal(await guard.lockedUntil("alice"), 900_000);
  assert.deepEqual(asked, ["alice", "alice"]);
  kept = false; // `wms-console user unlock alice`
  assert.equal(await guard.check("b", "Alice"), undefined);
  assert.equal(await guard.lockedUntil("alice"), undefined);
  assert.deepEqual(asked, ["alice", "alice", "alice"], "a forgotten lock is asked about no more");
  assert.deepEqual(changes, [["alice", 900_000]], "the store is not told of a lock it lifted");
  // Its failures went with it: four more do not lock the name, the fifth does.
  kept = true;
  for (let i = 0; i < 4; i += 1) guard.failed("a", "alice");
  assert.equal(await guard.check("a", "alice"), undefined);
  guard.failed("a", "alice");
  assert.notEqual(await guard.check("a", "alice"), undefined);
});

it("keeps a lock when the question fails, and one set again while the answer came", async () => {
  let now = 0;
  let answer: (held: boolean) => void = () => {};
  let fails = true;
  const guard = createLoginGuard({
    now: () => now,
    maxFailuresPerAccount: 1,
    lockHeld: () =>
      fails
        ? Promise.reject(new Error("SQLITE_BUSY"))
        : new Promise<boolean>((resolve) => (answer = resolve)),
  });
  guard.failed("a", "bob");
  assert.deepEqual(await guard.check("a", "bob"), { reason: "account", retryAfterSeconds: 900 });
  fails = false;
  const checked = guard.check("a", "bob");
  // An attempt that passed the check before the lock fails now, and locks the name again.
  now = 10_000;
  guard.failed("a", "bob");
  answer(false);
  assert.deepEqual(await checked, { reason: "account", retryAfterSeconds: 900 });
});
