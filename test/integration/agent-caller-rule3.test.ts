/**
 * Protection rule 3 with real client processes (DESIGN section 3): the caller is on this host
 * when it reaches the agent through loopback or any of the host's own interface addresses, and
 * its session is protected; when its process cannot be found, the agent fails closed — it
 * refuses every session the caller could be in, says why, and does nothing.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { networkInterfaces } from "node:os";
import { describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import type { AuditRecord, ResultRecord } from "../../agent/audit/audit-record.js";
import {
  Outcome,
  Protection,
  type DisconnectResponse,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { gate, startHarness } from "../helpers/agent-harness.js";

const CALL_AGENT = fileURLToPath(new URL("../fixtures/e2e/call-agent.ts", import.meta.url));

/** Runs the client script in its own process with WMSFLEET_SIM_SESSION=`session`. */
function callFromProcess(
  address: string,
  rpc: string,
  request: object,
  session: string,
): Promise<DisconnectResponse> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", CALL_AGENT, address, rpc, JSON.stringify(request)],
      { env: { ...process.env, WMSFLEET_SIM_SESSION: session } },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stdout}\n${stderr}`));
        else resolve(JSON.parse(stdout) as DisconnectResponse);
      },
    );
  });
}

/** [id, outcome, protection] of each result, by name. */
function outcomes(results: readonly SessionResult[]): [number, string, string][] {
  return results.map((r) => [
    r.sessionId,
    Outcome[r.outcome] ?? "?",
    Protection[r.protection] ?? "?",
  ]);
}

/** This machine's non-loopback addresses, as a client dials them (`[v6%zone]` for link-local). */
function interfaceAddresses(): { label: string; host: string; listen: string }[] {
  return Object.entries(networkInterfaces()).flatMap(([name, list]) =>
    (list ?? [])
      .filter((item) => !item.internal)
      .map((item) => {
        if (item.family === "IPv4") {
          return { label: `IPv4 ${item.address}`, host: item.address, listen: item.address };
        }
        const zoned = item.address.startsWith("fe80:") ? `${item.address}%${name}` : item.address;
        const kind = item.address.startsWith("fe80:") ? "link-local" : "global";
        return { label: `IPv6 ${kind} ${item.address}`, host: `[${zoned}]`, listen: `[${zoned}]` };
      }),
  );
}

/** The audit sink of a test agent: each result record as it is written, and the next one awaited. */
function recordingAudit() {
  const records: ResultRecord[] = [];
  let wake: (() => void) | undefined;
  return {
    records,
    sink: {
      write(json: string) {
        const record = JSON.parse(json) as AuditRecord;
        if (record.kind === "result") records.push(record);
        wake?.();
        return Promise.resolve();
      },
    },
    async next(count: number): Promise<ResultRecord> {
      while (records.length < count) await new Promise<void>((resolve) => (wake = resolve));
      return records[count - 1] as ResultRecord;
    },
  };
}

void describe("rule 3: a caller on this host is found by any of the host's addresses", () => {
  const addresses = interfaceAddresses();

  void it("protects the session of a client process that dials the host's own interface address", async (t) => {
    if (addresses.length === 0) return t.skip("this machine has no non-loopback interface address");
    for (const { label, host, listen } of addresses) {
      await t.test(label, async (t: TestContext) => {
        const { agent, backend } = await startHarness(t, { listen: [`${listen}:0`] });
        const response = await callFromProcess(
          `${host}:${agent.ports[0]}`,
          "disconnect",
          { sessionIds: [3, 4], whatIf: true },
          "3",
        );
        assert.deepEqual(outcomes(response.results), [
          [3, "PROTECTED", "CALLER_PROCESS"],
          [4, "WOULD_DISCONNECT", "UNSPECIFIED"],
        ]);
        assert.deepEqual(backend.disconnectCalls(), []);
      });
    }
  });

  void it("protects it behind a wildcard listener, reached at the LAN address as IPv4-mapped", async (t) => {
    const ipv4 = addresses.find((address) => address.label.startsWith("IPv4"));
    if (ipv4 === undefined) return t.skip("this machine has no non-loopback IPv4 address");
    const { agent, backend } = await startHarness(t, { listen: ["[::]:0"] });
    const response = await callFromProcess(
      `${ipv4.host}:${agent.ports[0]}`,
      "disconnectAll",
      {},
      "3",
    );
    const byId = new Map(outcomes(response.results).map((row) => [row[0], row]));
    assert.deepEqual(byId.get(3), [3, "PROTECTED", "CALLER_PROCESS"]);
    assert.deepEqual(byId.get(2), [2, "DISCONNECTED", "UNSPECIFIED"]);
    assert.ok(!backend.disconnectCalls().some((call) => call.sessionId === 3));
  });
});

void describe("rule 3 fails closed when the local caller's process cannot be found", () => {
  /**
   * The sessions of the test fixture that rule 1 (7) and rule 2 (0) do not protect already; the
   * listener too: protection is decided before whether a session can be disconnected at all.
   */
  const unprotected = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 65536];

  /** Spawns the client, then kills it once `entered` says the agent is inside the call. */
  async function clientKilledMidCall(
    t: TestContext,
    address: string,
    entered: Promise<void>,
  ): Promise<void> {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", CALL_AGENT, address, "disconnectAll", "{}"],
      { env: { ...process.env, WMSFLEET_SIM_SESSION: "3" }, stdio: "ignore" },
    );
    const exited = once(child, "exit");
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    });
    await entered;
    child.kill("SIGKILL");
    await exited;
  }

  function assertRefusedEverything(record: ResultRecord, reason: RegExp): void {
    const results = record.results ?? [];
    const refused = results.filter((r) => r.protection === "CALLER_UNRESOLVED");
    assert.deepEqual(
      refused.map((r) => r.sessionId),
      unprotected,
    );
    for (const result of refused) {
      assert.equal(result.outcome, "PROTECTED");
      assert.match(result.message, /could not be found/);
      assert.match(result.message, reason);
    }
    assert.ok(!results.some((r) => r.outcome === "DISCONNECTED"), JSON.stringify(results));
  }

  void it("refuses, and does nothing, when the client's connection closed before the lookup", async (t) => {
    const audit = recordingAudit();
    const listing = gate();
    const inside = gate();
    const harness = await startHarness(t, { audit: audit.sink });
    // The call waits inside the agent (listing the sessions, before rule 3) until the client is gone.
    const list = harness.backend.listSessions.bind(harness.backend);
    harness.backend.listSessions = async () => {
      inside.open();
      await listing.promise;
      harness.backend.listSessions = list;
      return list();
    };
    await clientKilledMidCall(t, harness.address, inside.promise);
    listing.open();
    assertRefusedEverything(await audit.next(1), /no process on this host holds/);
    assert.deepEqual(harness.backend.disconnectCalls(), []);
  });

  void it("refuses, and does nothing, when the client exited after its socket was found", async (t) => {
    const audit = recordingAudit();
    const asking = gate();
    const inside = gate();
    const harness = await startHarness(t, { audit: audit.sink });
    // The agent has found the client's process and waits before asking its session.
    const sessionOf = harness.backend.sessionOfProcess.bind(harness.backend);
    harness.backend.sessionOfProcess = async (pid) => {
      inside.open();
      await asking.promise;
      return sessionOf(pid);
    };
    await clientKilledMidCall(t, harness.address, inside.promise);
    asking.open();
    assertRefusedEverything(await audit.next(1), /does not exist any more/);
    assert.deepEqual(harness.backend.disconnectCalls(), []);
  });

  void it("answers a what-if exactly as the real call, and still lists the sessions", async (t) => {
    const harness = await startHarness(t, {
      peerResolver: () => Promise.reject(new Error("the process table cannot be read")),
    });
    const ids = [0, 2, 5, 7, 8, 77, 65536];
    const whatIf = await harness.client.disconnect({ sessionIds: ids, whatIf: true });
    const real = await harness.client.disconnect({ sessionIds: ids });
    // Everything but the session snapshots, whose idle times grow between the two calls.
    const said = (results: readonly SessionResult[]) =>
      results.map(({ session: _session, ...said }) => said);
    assert.deepEqual(said(whatIf.results), said(real.results));
    assert.deepEqual(outcomes(real.results), [
      [0, "PROTECTED", "SERVICES_SESSION"],
      [2, "PROTECTED", "CALLER_UNRESOLVED"],
      [5, "PROTECTED", "CALLER_UNRESOLVED"],
      [7, "PROTECTED", "AGENT_SESSION"],
      [8, "PROTECTED", "CALLER_UNRESOLVED"],
      [77, "NOT_FOUND", "UNSPECIFIED"],
      [65536, "PROTECTED", "CALLER_UNRESOLVED"],
    ]);
    assert.match(
      real.results[1]?.message ?? "",
      /lookup of the caller's process failed: the process table cannot be read/,
    );
    assert.deepEqual(harness.backend.disconnectCalls(), []);
    const listed = await harness.client.listSessions({ sessionIds: [2, 7] });
    assert.deepEqual(
      listed.sessions.map((s) => [s.sessionId, Protection[s.protection]]),
      [
        [2, "CALLER_UNRESOLVED"],
        [7, "AGENT_SESSION"],
      ],
    );
  });
});
