/**
 * The bounds on anonymous refusals in the console's audit trail (`console/audit/refusals.ts`), on
 * an injected clock: whole records per address and per window, the summaries written once a
 * window ends (the addresses with the most on their own, the rest together), and the cap on
 * addresses counted one by one.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  MAX_REFUSAL_RECORDS_PER_ADDRESS,
  MAX_REFUSAL_RECORDS_PER_WINDOW,
  MAX_REFUSAL_SUMMARIES_PER_WINDOW,
  MAX_TRACKED_REFUSAL_ADDRESSES,
  OTHER_ADDRESSES,
  REFUSAL_WINDOW_MS,
  createRefusalLimiter,
} from "../../console/audit/refusals.js";
import type { NewAuditEntry } from "../../console/store/store.js";

const T0 = Date.parse("2026-11-30T08:00:00Z");

function refusal(address: string, path = "/api/v1/hosts"): NewAuditEntry {
  return {
    actor: "-",
    auth: "none",
    address,
    action: "denied",
    outcome: "unauthenticated",
    hosts: [],
    detail: { method: "GET", path, reason: "sign in" },
  };
}

it("one address: its first records whole, the rest counted and summed up once the window ends", () => {
  let now = T0 + 1000;
  const limiter = createRefusalLimiter(() => now);
  const admitted: boolean[] = [];
  for (let i = 0; i < 1000; i++) {
    now += 10;
    admitted.push(limiter.admit(refusal("203.0.113.7", i % 2 === 0 ? "/api/v1/hosts" : "/")));
  }
  assert.equal(admitted.filter(Boolean).length, MAX_REFUSAL_RECORDS_PER_ADDRESS);
  assert.deepEqual(admitted.slice(0, MAX_REFUSAL_RECORDS_PER_ADDRESS + 1), [
    ...Array<boolean>(MAX_REFUSAL_RECORDS_PER_ADDRESS).fill(true),
    false,
  ]);
  // The window has not ended: nothing to write yet.
  assert.deepEqual(limiter.drain(), []);
  now = T0 + REFUSAL_WINDOW_MS; // the next window
  const [summary, ...more] = limiter.drain();
  assert.deepEqual(more, []);
  assert.ok(summary !== undefined);
  assert.equal(summary.action, "refusals");
  assert.equal(summary.outcome, "coalesced");
  assert.equal(summary.address, "203.0.113.7");
  assert.equal(summary.actor, "-");
  assert.equal(summary.time?.getTime(), T0 + REFUSAL_WINDOW_MS - 1);
  const coalesced = 1000 - MAX_REFUSAL_RECORDS_PER_ADDRESS;
  assert.equal(summary.detail["count"], coalesced);
  assert.deepEqual(summary.detail["outcomes"], { "denied unauthenticated": coalesced });
  // Refusals 5..999 were counted: the even ones asked for /api/v1/hosts, the odd ones for /.
  assert.deepEqual(summary.detail["paths"], { "GET /": 498, "GET /api/v1/hosts": 497 });
  assert.equal(summary.detail["from"], new Date(T0 + 1000 + 10 * 6).toISOString());
  assert.equal(summary.detail["to"], new Date(T0 + 1000 + 10 * 1000).toISOString());
  // Written once; a new window starts with whole records again.
  assert.deepEqual(limiter.drain(), []);
  assert.equal(limiter.admit(refusal("203.0.113.7")), true);
});

it("many addresses: at most the window's whole records, ten summaries and one for the others", () => {
  let now = T0;
  const limiter = createRefusalLimiter(() => now);
  let admitted = 0;
  // 40 addresses, address i sending 10 + i refusals.
  for (let i = 0; i < 40; i++) {
    for (let j = 0; j < 10 + i; j++) if (limiter.admit(refusal(`198.51.100.${i}`))) admitted += 1;
  }
  assert.equal(admitted, MAX_REFUSAL_RECORDS_PER_WINDOW);
  now += REFUSAL_WINDOW_MS;
  // The next window's first refusal brings the last window's summaries out.
  assert.equal(limiter.admit(refusal("198.51.100.1")), true);
  const summaries = limiter.drain();
  assert.equal(summaries.length, MAX_REFUSAL_SUMMARIES_PER_WINDOW + 1);
  const total = Array.from({ length: 40 }, (_, i) => 10 + i).reduce((a, b) => a + b, 0);
  const counted = summaries.reduce((n, s) => n + Number(s.detail["count"]), 0);
  assert.equal(counted + admitted, total);
  // The addresses that sent the most have a summary each, largest first; the rest are one.
  assert.deepEqual(
    summaries.slice(0, MAX_REFUSAL_SUMMARIES_PER_WINDOW).map((s) => s.address),
    Array.from({ length: MAX_REFUSAL_SUMMARIES_PER_WINDOW }, (_, i) => `198.51.100.${39 - i}`),
  );
  const others = summaries.at(-1);
  assert.equal(others?.address, OTHER_ADDRESSES);
  assert.equal(others?.detail["addresses"], 40 - MAX_REFUSAL_SUMMARIES_PER_WINDOW);
});

it("addresses past the tracked limit are counted together, and memory stays bounded", () => {
  const now = T0;
  const limiter = createRefusalLimiter(() => now);
  const addresses = MAX_TRACKED_REFUSAL_ADDRESSES + 500;
  let admitted = 0;
  for (let i = 0; i < addresses; i++) {
    if (limiter.admit(refusal(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`))) admitted += 1;
  }
  assert.equal(admitted, MAX_REFUSAL_RECORDS_PER_WINDOW);
  const summaries = limiter.drain(true); // stopping: the current window's summaries too
  // Each tracked address sent one refusal: the ten largest are ties, the rest and the 500
  // untracked ones are in the others' record.
  assert.equal(summaries.length, MAX_REFUSAL_SUMMARIES_PER_WINDOW + 1);
  const counted = summaries.reduce((n, s) => n + Number(s.detail["count"]), 0);
  assert.equal(counted + admitted, addresses);
  assert.equal(
    summaries.at(-1)?.detail["addresses"],
    MAX_TRACKED_REFUSAL_ADDRESSES -
      MAX_REFUSAL_RECORDS_PER_WINDOW -
      MAX_REFUSAL_SUMMARIES_PER_WINDOW,
  );
  assert.deepEqual(limiter.drain(true), []);
});

it("summary counts of outcomes and paths keep at most 20 keys, the rest as other", () => {
  let now = T0;
  const limiter = createRefusalLimiter(() => now);
  for (let i = 0; i < 100; i++) limiter.admit(refusal("192.0.2.1", `/api/v1/x${i}`));
  now += REFUSAL_WINDOW_MS;
  const [summary] = limiter.drain();
  const paths = summary?.detail["paths"] as Record<string, number>;
  assert.equal(Object.keys(paths).length, 21);
  assert.equal(
    Object.values(paths).reduce((a, b) => a + b, 0),
    100 - MAX_REFUSAL_RECORDS_PER_ADDRESS,
  );
  assert.equal(paths["other"], 100 - MAX_REFUSAL_RECORDS_PER_ADDRESS - 20);
});
