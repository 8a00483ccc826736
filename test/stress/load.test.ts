/**
 * Load: 1,000 calls at once on one agent, over a handful of connections, are all answered, none
 * lost, and a second wave leaves the agent's memory where the first one left it. No timings.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { status as Status } from "@grpc/grpc-js";
import { startHarness, promisifyClient, type TestClient } from "../helpers/agent-harness.js";
import { WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";
import { credentials } from "@grpc/grpc-js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const CALLS = 1000;
const CONNECTIONS = 8;

/**
 * A load this size comes from controllers on other hosts: the agent sees these callers as remote,
 * as it would see them, so that each call is not also a search for a local caller's process
 * (protection rule 3 looks a local caller up on every call; `agent-caller-rule3.test.ts`).
 */
const REMOTE_CALLERS = { hostAddresses: { isLocal: () => false } };

/**
 * What the process keeps after a full collection: its resident memory, with V8's heap counted by
 * its live objects rather than by the pages it holds. V8 keeps its young generation's pages once
 * grown, up to a size that depends on the version (Node 24's V8 grows it to 2 × 64 MiB under this
 * load, Node 22's to 2 × 16 MiB): counted by RSS, that looks like 100 MiB of growth on Node 24
 * that a fourth wave does not add to. A leak of objects shows in `heapUsed`; one of native memory
 * (buffers, HTTP/2 sessions, sockets) in what lies outside the heap.
 */
function retainedAfterGc(): number {
  gc();
  gc();
  const heap = getHeapStatistics();
  return process.memoryUsage().rss - heap.total_physical_size + heap.used_heap_size;
}

/** One wave: CALLS calls at once, a mix of ListSessions and Disconnect (what-if). */
async function wave(clients: readonly TestClient[]) {
  const calls = Array.from({ length: CALLS }, (_, index) => {
    const client = clients[index % clients.length] as TestClient;
    return index % 2 === 0
      ? client
          .listSessions()
          .then((r) => ({ kind: "list" as const, index, count: r.sessions.length }))
      : client
          .disconnect({ sessionIds: [2, 3, 4], whatIf: true })
          .then((r) => ({ kind: "disconnect" as const, index, count: r.results.length }));
  });
  return Promise.allSettled(calls);
}

void describe("one agent under 1,000 concurrent calls", () => {
  void it("answers every call, loses none, touches no session, and does not grow", async (t) => {
    const harness = await startHarness(t, REMOTE_CALLERS);
    const raws = Array.from(
      { length: CONNECTIONS },
      () =>
        new WmsSessionServiceClient(harness.address, credentials.createInsecure(), {
          "grpc.use_local_subchannel_pool": 1,
        }),
    );
    t.after(() => raws.forEach((raw) => raw.close()));
    const clients = raws.map(promisifyClient);

    const first = await wave(clients);
    const rejected = first.filter((r) => r.status === "rejected");
    assert.deepEqual(
      rejected.map((r) => r.reason as Error).map((e) => e.message),
      [],
      "every call of the first wave answered OK",
    );
    const answered = first.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    assert.equal(answered.length, CALLS);
    assert.equal(new Set(answered.map((a) => a.index)).size, CALLS, "each call answered once");
    for (const answer of answered) {
      assert.equal(answer.count, answer.kind === "list" ? 13 : 3, `call ${answer.index}`);
    }
    const afterFirst = retainedAfterGc();

    for (let round = 0; round < 3; round++) {
      const again = await wave(clients);
      assert.equal(again.filter((r) => r.status === "fulfilled").length, CALLS);
    }
    const afterMore = retainedAfterGc();
    // Generous: three more waves of 1,000 calls may not keep 64 MiB.
    assert.ok(
      afterMore - afterFirst < 64 * 1024 * 1024,
      `retained memory grew by ${Math.round((afterMore - afterFirst) / 1048576)} MiB over three more waves`,
    );
    assert.deepEqual(harness.backend.disconnectCalls(), [], "what-if touched no session");
    assert.equal(harness.agent.state(), "serving");
  });

  void it("refuses calls beyond its in-flight limit with RESOURCE_EXHAUSTED, and no others", async (t) => {
    const harness = await startHarness(t, { ...REMOTE_CALLERS, maxInFlightCalls: 100 });
    harness.backend.setListLatencyMs(50);
    const results = await Promise.allSettled(
      Array.from({ length: 400 }, () => harness.client.listSessions()),
    );
    const codes = new Set(
      results.flatMap((r) =>
        r.status === "rejected" ? [(r.reason as { code?: number }).code] : [],
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    assert.ok(ok >= 100, `${ok} answered`);
    assert.ok(
      [...codes].every((code) => code === Status.RESOURCE_EXHAUSTED),
      [...codes].join(),
    );
    harness.backend.setListLatencyMs(0);
    await harness.client.listSessions();
  });
});
