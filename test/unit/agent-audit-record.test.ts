/**
 * Audit records on their own: bounded in size whatever goes into them, the certificate named as
 * the audit log names it, and the auditor's intent / result / abandon flow over a sink.
 */
import assert from "node:assert/strict";
import type { PeerCertificate } from "node:tls";
import { describe, it } from "node:test";
import { status as Status } from "@grpc/grpc-js";
import { pino } from "pino";
import type {
  AuditRecord,
  AuditSessionResult,
  ResultRecord,
} from "../../agent/audit/audit-record.js";
import { createAuditor, INTENT_NOT_WRITTEN } from "../../agent/audit/auditor.js";
import {
  DEFAULT_MAX_AUDIT_RECORD_BYTES,
  MIN_AUDIT_RECORD_BYTES,
  serializeBounded,
} from "../../agent/audit/bounded-record.js";
import { certificateDetails } from "../../agent/audit/certificate-details.js";
import { RpcError } from "../../agent/server/rpc-error.js";

const BASE = {
  callId: "00000000-0000-4000-8000-000000000001",
  time: "2026-11-24T04:38:47.557Z",
  rpc: "Disconnect",
  identity: "ops",
  peer: "127.0.0.1:43968",
} as const;

function results(count: number, outcome: (i: number) => string): AuditSessionResult[] {
  return Array.from({ length: count }, (_, i) => ({
    sessionId: i,
    outcome: outcome(i),
    message: `session ${i}`,
    win32Error: 0,
  }));
}

const bytes = (json: string) => Buffer.byteLength(json);

describe("serializeBounded", () => {
  it("writes a record that fits as it is", () => {
    const record: AuditRecord = { kind: "intent", ...BASE, request: { sessionIds: [2, 3] } };
    assert.equal(serializeBounded(record, DEFAULT_MAX_AUDIT_RECORD_BYTES), JSON.stringify(record));
  });

  it("cuts a huge request to its first ids and says what was cut", () => {
    const sessionIds = Array.from({ length: 250_000 }, (_, i) => 100_000 + i);
    const record: AuditRecord = {
      kind: "result",
      ...BASE,
      request: { sessionIds, expectedHost: "h".repeat(1_000_000) },
      status: { code: "PERMISSION_DENIED", message: "no" },
    };
    const json = serializeBounded(record, DEFAULT_MAX_AUDIT_RECORD_BYTES);
    assert.ok(bytes(json) < 2048, `${bytes(json)} bytes`);
    const summarised = JSON.parse(json) as ResultRecord;
    const request = summarised.request as { sessionIds: number[]; expectedHost: string };
    assert.deepEqual(request.sessionIds, sessionIds.slice(0, 16));
    assert.equal(request.expectedHost, `${"h".repeat(256)}…`);
    assert.equal(summarised.summarised?.bytes, bytes(JSON.stringify(record)));
    assert.deepEqual(summarised.summarised?.lengths, {
      "request.sessionIds": 250_000,
      "request.expectedHost": 1_000_000,
    });
    assert.deepEqual(summarised.status, record.status);
    assert.equal(summarised.callId, BASE.callId);
  });

  it("keeps the sessions acted on in full and counts the others by outcome", () => {
    const record: AuditRecord = {
      kind: "result",
      ...BASE,
      results: results(4096, (i) => (i % 1000 === 0 ? "DISCONNECTED" : "NOT_FOUND")),
    };
    const json = serializeBounded(record, DEFAULT_MAX_AUDIT_RECORD_BYTES);
    assert.ok(bytes(json) <= DEFAULT_MAX_AUDIT_RECORD_BYTES);
    const summarised = JSON.parse(json) as ResultRecord;
    assert.deepEqual(
      summarised.results?.map((r) => [r.sessionId, r.outcome]),
      [0, 1000, 2000, 3000, 4000].map((id) => [id, "DISCONNECTED"]),
    );
    assert.equal(summarised.resultCounts?.["NOT_FOUND"]?.count, 4091);
    assert.deepEqual(
      summarised.resultCounts?.["NOT_FOUND"]?.firstSessionIds,
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    );
    assert.equal(summarised.resultCounts?.["DISCONNECTED"]?.count, 5);
    assert.equal(summarised.summarised?.lengths["results"], 4096);
  });

  it("keeps only the counts when even the sessions acted on do not fit", () => {
    const record: AuditRecord = {
      kind: "result",
      ...BASE,
      results: results(3000, () => "DISCONNECTED"),
    };
    const json = serializeBounded(record, MIN_AUDIT_RECORD_BYTES);
    assert.ok(bytes(json) <= MIN_AUDIT_RECORD_BYTES);
    const summarised = JSON.parse(json) as ResultRecord;
    assert.equal(summarised.results, undefined);
    assert.equal(summarised.resultCounts?.["DISCONNECTED"]?.count, 3000);
  });

  it("stays within the limit whatever the record holds (last resort: which call, who, how it ended)", () => {
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`field${i}`, i]));
    const record: AuditRecord = {
      kind: "result",
      ...BASE,
      identity: "\u0001".repeat(100_000),
      request: wide,
      status: { code: "INVALID_ARGUMENT", message: "\u0002".repeat(100_000) },
    };
    const json = serializeBounded(record, MIN_AUDIT_RECORD_BYTES);
    assert.ok(bytes(json) <= MIN_AUDIT_RECORD_BYTES, `${bytes(json)} bytes`);
    const summarised = JSON.parse(json) as ResultRecord;
    assert.deepEqual(Object.keys(summarised), [
      "kind",
      "callId",
      "time",
      "rpc",
      "identity",
      "peer",
      "status",
      "summarised",
    ]);
    assert.equal(summarised.status?.code, "INVALID_ARGUMENT");
  });

  it("never splits a character made of two UTF-16 units", () => {
    const record: AuditRecord = {
      kind: "intent",
      ...BASE,
      request: { expectedHost: `${"a".repeat(255)}${"😀".repeat(40_000)}` },
    };
    const request = (JSON.parse(serializeBounded(record, MIN_AUDIT_RECORD_BYTES)) as AuditRecord)
      .request as { expectedHost: string };
    assert.equal(request.expectedHost, `${"a".repeat(255)}…`);
  });

  it("refuses a limit below the smallest record it can guarantee", () => {
    const record: AuditRecord = { kind: "intent", ...BASE, request: {} };
    assert.throws(
      () => serializeBounded(record, MIN_AUDIT_RECORD_BYTES - 1),
      /maxAuditRecordBytes: 4095 is not a whole number of bytes of at least 4096/,
    );
  });
});

describe("certificateDetails", () => {
  const certificate = (fingerprint: string, cn: string, altNames?: string) =>
    ({
      subject: { CN: cn, O: "School" },
      ...(altNames === undefined ? {} : { subjectaltname: altNames }),
      serialNumber: "4F0A",
      fingerprint256: fingerprint,
    }) as unknown as PeerCertificate;

  it("names the subject, serial and fingerprint, and no SAN when the identity is the CN", () => {
    assert.deepEqual(certificateDetails(certificate("AA:01", "ops", "DNS:ops.lab"), "ops"), {
      subject: "CN=ops, O=School",
      serial: "4F0A",
      fingerprint256: "AA:01",
    });
  });

  it("names the SAN that is the identity (DNS names in any case)", () => {
    const cert = certificate(
      "AA:02",
      "console",
      'DNS:CONSOLE.lab.example.org, email:ops@lab.example.org, URI:spiffe://lab/x, email:"a,b"@lab',
    );
    assert.equal(
      certificateDetails(cert, "console.lab.example.org").matchedSan,
      "DNS:CONSOLE.lab.example.org",
    );
    assert.equal(
      certificateDetails(cert, "ops@lab.example.org").matchedSan,
      "email:ops@lab.example.org",
    );
    assert.equal(certificateDetails(cert, "spiffe://lab/x").matchedSan, "URI:spiffe://lab/x");
    assert.equal(certificateDetails(cert, "a,b@lab").matchedSan, "email:a,b@lab");
    assert.equal(certificateDetails(cert, undefined).matchedSan, undefined);
  });
});

describe("createAuditor", () => {
  const silent = pino({ enabled: false });
  const caller = { identity: "ops", peer: "127.0.0.1:1" };

  function sink(failing: () => boolean = () => false) {
    const records: AuditRecord[] = [];
    return {
      records,
      write(json: string) {
        if (failing()) return Promise.reject(new Error("EIO"));
        records.push(JSON.parse(json) as AuditRecord);
        return Promise.resolve();
      },
    };
  }

  it("writes the request in the intent, not again in the result", async () => {
    const memory = sink();
    let next = 0;
    const auditor = createAuditor({
      sink: memory,
      logger: silent,
      newCallId: () => `call-${++next}`,
      clock: () => new Date(0),
    });
    const call = auditor.begin("Disconnect", caller);
    await call.intent({ sessionIds: [2] });
    assert.equal(auditor.openCalls(), 1);
    await call.result({ results: [] }, () => assert.fail("the intent has the request"));
    assert.equal(auditor.openCalls(), 0);
    const whatIf = auditor.begin("Disconnect", caller);
    await whatIf.result({ results: [] }, () => ({ sessionIds: [2], whatIf: true }));
    assert.deepEqual(memory.records, [
      {
        kind: "intent",
        callId: "call-1",
        time: "1970-01-01T00:00:00.000Z",
        rpc: "Disconnect",
        ...caller,
        request: { sessionIds: [2] },
      },
      {
        kind: "result",
        callId: "call-1",
        time: "1970-01-01T00:00:00.000Z",
        rpc: "Disconnect",
        ...caller,
        results: [],
      },
      {
        kind: "result",
        callId: "call-2",
        time: "1970-01-01T00:00:00.000Z",
        rpc: "Disconnect",
        ...caller,
        request: { sessionIds: [2], whatIf: true },
        results: [],
      },
    ]);
  });

  it("fails the intent with UNAVAILABLE when it cannot be written, and never the result", async () => {
    const memory = sink(() => true);
    const auditor = createAuditor({ sink: memory, logger: silent });
    const call = auditor.begin("Disconnect", caller);
    await assert.rejects(
      call.intent({ sessionIds: [2] }),
      (error: unknown) =>
        error instanceof RpcError &&
        error.code === Status.UNAVAILABLE &&
        error.message === INTENT_NOT_WRITTEN,
    );
    assert.equal(auditor.openCalls(), 0);
    // A result that cannot be written is logged, never thrown.
    await call.result({ status: { code: "UNAVAILABLE", message: INTENT_NOT_WRITTEN } });
    assert.deepEqual(memory.records, []);
  });

  it("closes the calls still open with an UNKNOWN result saying why", async () => {
    const memory = sink();
    const auditor = createAuditor({ sink: memory, logger: silent });
    const open = auditor.begin("Disconnect", caller);
    await open.intent({ sessionIds: [2] });
    const done = auditor.begin("DisconnectAll", caller);
    await done.intent({});
    await done.result({ results: [] });
    await auditor.abandonOpenCalls("cut off");
    assert.equal(auditor.openCalls(), 0);
    const last = memory.records.at(-1) as ResultRecord;
    assert.equal(last.callId, open.callId);
    assert.deepEqual(last.status, { code: "UNKNOWN", message: "cut off" });
    assert.equal(memory.records.length, 4);
  });

  it("refuses a maxAuditRecordBytes below the minimum when it is made", () => {
    assert.throws(
      () => createAuditor({ sink: sink(), logger: silent, maxAuditRecordBytes: 100 }),
      TypeError,
    );
  });
});
