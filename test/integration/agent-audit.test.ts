/**
 * The audit of mutating calls (DESIGN section 5) on an agent under mutual TLS, with real
 * certificates made in the test: an intent record before the agent acts and a result record
 * after (one call id), nothing done when the intent cannot be written, the certificate and the
 * claimed actor in every record, records bounded in size, calls that end before their request is
 * read, requests that do not decode, and a forced shutdown.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import {
  Client,
  credentials,
  InterceptingCall,
  status as Status,
  type Interceptor,
  type ServiceError,
} from "@grpc/grpc-js";
import { pino } from "pino";
import type { AuditRecord, AuditSink, ResultRecord } from "../../agent/audit/audit-record.js";
import { openFileAuditSink } from "../../agent/audit/audit-file.js";
import { DEFAULT_MAX_AUDIT_RECORD_BYTES } from "../../agent/audit/bounded-record.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import type { Role } from "../../agent/config/options.js";
import { createAccessPolicy } from "../../agent/security/authorization.js";
import { createTlsCredentials } from "../../agent/security/tls-credentials.js";
import { agentTlsMaterial } from "../helpers/tls-agent.js";
import { startAgent, type Agent } from "../../agent/server/agent.js";
import type { SessionBackend } from "../../agent/sessions/backend.js";
import {
  Outcome,
  SessionState,
  WmsSessionServiceClient,
} from "../../proto/gen/wms/v1/wms_session.js";
import {
  gate,
  promisifyClient,
  TEST_FIXTURE,
  TEST_HOST,
  type TestClient,
} from "../helpers/agent-harness.js";
import { createTestCa, pemFolder, type IssuedCertificate } from "../helpers/test-pki.js";

const pki = (async () => {
  const ca = await createTestCa("wmsfleet audit test CA");
  const agentCert = await ca.issueServer([TEST_HOST], ["127.0.0.1"]);
  return { ca, agentCert };
})();

const CHANNEL_OPTIONS = {
  "grpc.ssl_target_name_override": TEST_HOST,
  "grpc.default_authority": TEST_HOST,
};

const DISCONNECT_PATH = "/wms.v1.WmsSessionService/Disconnect";

/** An audit sink that keeps records in memory, or refuses them while `refuse` says so. */
function memoryAudit(
  refuse: (record: AuditRecord) => boolean = () => false,
): AuditSink & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return {
    records,
    write(json) {
      const record = JSON.parse(json) as AuditRecord;
      if (refuse(record)) return Promise.reject(new Error("ENOSPC: no space left on device"));
      records.push(record);
      return Promise.resolve();
    },
  };
}

type LogLine = Record<string, unknown> & { msg?: string };

interface AuditedAgent {
  readonly agent: Agent;
  readonly backend: SimulatedBackend;
  readonly logs: LogLine[];
  /** A session client presenting `client`, with `wmsfleet-actor` when `actor` is given. */
  client(client: IssuedCertificate, actor?: string): TestClient;
  /** A client that sends `bytes` as the request of `path`, undecoded. */
  rawCall(client: IssuedCertificate, path: string, bytes: Buffer): Promise<unknown>;
}

/** Starts an agent under mutual TLS with `allow` and `audit`; it and its clients are closed after. */
async function startAuditedAgent(
  t: TestContext,
  allow: Record<string, Role>,
  audit: AuditSink,
  options: {
    maxReceiveMessageBytes?: number;
    wrap?: (backend: SimulatedBackend) => SessionBackend;
  } = {},
): Promise<AuditedAgent> {
  const { ca, agentCert } = await pki;
  const material = await agentTlsMaterial(t, ca, agentCert);
  const logs: LogLine[] = [];
  const logger = pino(
    { level: "info" },
    { write: (line: string) => logs.push(JSON.parse(line) as LogLine) },
  );
  const backend = createSimulatedBackend({
    fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
    env: {},
  });
  const agent = await startAgent({
    hostFqdn: TEST_HOST,
    backend: options.wrap?.(backend) ?? backend,
    healthIntervalMs: 60_000,
    credentials: createTlsCredentials(material).credentials,
    authorize: createAccessPolicy(new Map(Object.entries(allow))).authorize,
    audit,
    logger,
    ...(options.maxReceiveMessageBytes === undefined
      ? {}
      : { maxReceiveMessageBytes: options.maxReceiveMessageBytes }),
  });
  const address = `127.0.0.1:${agent.ports[0]}`;
  const clients: Client[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    await agent.shutdown({ graceMs: 1000 });
  });
  const channelCredentials = (client: IssuedCertificate) =>
    credentials.createSsl(Buffer.from(ca.cert), Buffer.from(client.key), Buffer.from(client.cert));
  return {
    agent,
    backend,
    logs,
    client(client, actor) {
      const raw = new WmsSessionServiceClient(address, channelCredentials(client), {
        ...CHANNEL_OPTIONS,
        ...(actor === undefined ? {} : { interceptors: [claimingActor(actor)] }),
      });
      clients.push(raw);
      return promisifyClient(raw);
    },
    rawCall(client, path, bytes) {
      const raw = new Client(address, channelCredentials(client), CHANNEL_OPTIONS);
      clients.push(raw);
      return new Promise((resolve, reject) => {
        raw.makeUnaryRequest(
          path,
          (value: Buffer) => value,
          (value: Buffer) => value,
          bytes,
          (error: ServiceError | null, response?: Buffer) => {
            if (error !== null) reject(error);
            else resolve(response);
          },
        );
      });
    },
  };
}

/** A client interceptor that sends `wmsfleet-actor: actor` with every call. */
function claimingActor(actor: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("wmsfleet-actor", actor);
        next(metadata, listener);
      },
    });
}

/** Asserts that a call failed with `code` and a message matching `message`. */
async function rejectsWith(call: Promise<unknown>, code: Status, message?: RegExp): Promise<void> {
  await assert.rejects(call, (error: ServiceError) => {
    assert.equal(Status[error.code], Status[code], error.details);
    if (message !== undefined) assert.match(error.details, message);
    return true;
  });
}

/** The backend with every disconnect held until `held` opens, and `entered` once one arrives. */
function holdDisconnects(
  held: Promise<void>,
  entered: () => void,
): (backend: SimulatedBackend) => SessionBackend {
  return (backend) =>
    new Proxy(backend, {
      get(target, property, receiver) {
        if (property === "disconnectSession") {
          return async (sessionId: number, options: { wait: boolean }) => {
            entered();
            await held;
            return target.disconnectSession(sessionId, options);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === "function" ? (value as () => unknown).bind(target) : value;
      },
    });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("audit: intent before acting, result after", () => {
  it("writes the intent before the session is touched and the result after, under one call id", async (t) => {
    const seen: { backend?: SimulatedBackend } = {};
    const actedAtWrite: number[] = [];
    const audit = memoryAudit(() => {
      actedAtWrite.push(seen.backend?.disconnectCalls().length ?? -1);
      return false;
    });
    const agent = await startAuditedAgent(t, { "console.lab.example.com": "operator" }, audit);
    seen.backend = agent.backend;
    const { ca } = await pki;
    const certificate = await ca.issueClient("console", {
      sans: [{ type: "dns", value: "CONSOLE.lab.example.com" }],
    });
    const client = agent.client(certificate, "LAB\\mr.smith");
    const response = await client.disconnect({ sessionIds: [2, 0], expectedHost: TEST_HOST });
    assert.deepEqual(
      response.results.map((r) => Outcome[r.outcome]),
      ["DISCONNECTED", "PROTECTED"],
    );

    assert.deepEqual(actedAtWrite, [0, 1], "the intent came before the disconnect");
    const [intent, result] = audit.records;
    assert.equal(audit.records.length, 2);
    assert.equal(intent?.kind, "intent");
    assert.equal(result?.kind, "result");
    assert.match(intent.callId, UUID);
    assert.equal(result.callId, intent.callId);
    const x509 = new X509Certificate(certificate.cert);
    for (const record of [intent, result]) {
      assert.equal(record.rpc, "Disconnect");
      assert.equal(record.identity, "console.lab.example.com");
      assert.equal(record.actor, "LAB\\mr.smith");
      assert.match(record.peer, /^127\.0\.0\.1:\d+$/);
      assert.deepEqual(record.certificate, {
        subject: "CN=console",
        matchedSan: "DNS:CONSOLE.lab.example.com",
        serial: x509.serialNumber,
        fingerprint256: x509.fingerprint256,
      });
      assert.ok(!Number.isNaN(Date.parse(record.time)));
    }
    assert.deepEqual(intent.request, { sessionIds: [2, 0], expectedHost: TEST_HOST });
    assert.equal(result.request, undefined, "the request is in the intent");
    assert.deepEqual(
      result.results?.map((r) => [r.sessionId, r.outcome, r.user ?? r.protection]),
      [
        [2, "DISCONNECTED", "LAB\\amelia"],
        [0, "PROTECTED", "SERVICES_SESSION"],
      ],
    );
  });

  it("writes one result record, with the request, for a what-if; and the refusal of a call the roles refuse", async (t) => {
    const audit = memoryAudit();
    const agent = await startAuditedAgent(t, { ops: "operator", "kiosk-7": "reader" }, audit);
    const { ca } = await pki;
    const ops = await ca.issueClient("ops");
    const longActor = "x".repeat(1000);
    await agent.client(ops, longActor).disconnect({ sessionIds: [2], whatIf: true });
    await rejectsWith(
      agent.client(await ca.issueClient("kiosk-7")).disconnect({ sessionIds: [3] }),
      Status.PERMISSION_DENIED,
    );
    assert.deepEqual(agent.backend.disconnectCalls(), []);
    const [whatIf, ...others] = audit.records;
    assert.equal(whatIf?.kind, "result", "a what-if has no intent");
    assert.deepEqual(whatIf.request, { sessionIds: [2], whatIf: true });
    assert.deepEqual(
      whatIf.results?.map((r) => r.outcome),
      ["WOULD_DISCONNECT"],
    );
    assert.equal(whatIf.actor, `${"x".repeat(256)}…`, "the claimed actor is cut to 256 characters");
    assert.equal(whatIf.certificate?.subject, "CN=ops");
    assert.equal(whatIf.certificate?.matchedSan, undefined, "the identity is the CN");
    // The refused call: an intent when the roles are asked after the request was read (the
    // handler never acts without one), then its result.
    const refused = others.at(-1) as ResultRecord;
    assert.deepEqual(
      others.map((r) => r.callId),
      others.map(() => refused.callId),
    );
    assert.equal(refused.kind, "result");
    assert.equal(refused.status?.code, "PERMISSION_DENIED");
    assert.equal(refused.identity, "kiosk-7");
    assert.equal(refused.certificate?.subject, "CN=kiosk-7");
    assert.equal(refused.actor, undefined);
  });
});

describe("audit: when the log cannot be written", () => {
  it("answers UNAVAILABLE and touches no session when the intent cannot be written", async (t) => {
    let diskFull = true;
    const audit = memoryAudit(() => diskFull);
    const agent = await startAuditedAgent(t, { ops: "operator" }, audit);
    const { ca } = await pki;
    const client = agent.client(await ca.issueClient("ops"));
    await rejectsWith(
      client.disconnect({ sessionIds: [2] }),
      Status.UNAVAILABLE,
      /^the audit log cannot be written, so nothing was done/,
    );
    await rejectsWith(
      client.disconnectAll({
        filter: { userNamePattern: "amelia", states: [], minIdleTime: undefined },
      }),
      Status.UNAVAILABLE,
      /nothing was done/,
    );
    assert.deepEqual(agent.backend.disconnectCalls(), [], "nothing was disconnected");
    const [session] = (await client.listSessions({ sessionIds: [2] })).sessions;
    assert.equal(SessionState[session?.state ?? 0], "ACTIVE");
    const logged = agent.logs.filter((line) =>
      /audit intent record could not be written/.test(line.msg ?? ""),
    );
    assert.equal(logged.length, 2);
    assert.deepEqual((logged[0]?.["auditRecord"] as AuditRecord).kind, "intent");

    // A what-if changes nothing: it is answered, and its record goes to the agent log.
    const whatIf = await client.disconnect({ sessionIds: [2], whatIf: true });
    assert.equal(Outcome[whatIf.results[0]?.outcome ?? 0], "WOULD_DISCONNECT");

    diskFull = false;
    const done = await client.disconnect({ sessionIds: [2] });
    assert.equal(Outcome[done.results[0]?.outcome ?? 0], "DISCONNECTED");
    assert.deepEqual(
      audit.records.map((r) => r.kind),
      ["intent", "result"],
    );
  });

  it("answers what was done when only the result record cannot be written, and logs the record", async (t) => {
    const audit = memoryAudit((record) => record.kind === "result");
    const agent = await startAuditedAgent(t, { ops: "operator" }, audit);
    const { ca } = await pki;
    const response = await agent
      .client(await ca.issueClient("ops"))
      .disconnect({ sessionIds: [3] });
    assert.equal(Outcome[response.results[0]?.outcome ?? 0], "DISCONNECTED");
    assert.deepEqual(
      audit.records.map((r) => r.kind),
      ["intent"],
    );
    const line = agent.logs.find((l) =>
      /audit result record could not be written/.test(l.msg ?? ""),
    );
    const record = line?.["auditRecord"] as ResultRecord | undefined;
    assert.equal(record?.callId, audit.records[0]?.callId);
    assert.equal(record?.results?.[0]?.outcome, "DISCONNECTED");
  });
});

describe("audit: bounded records", () => {
  it("summarises a refused call's huge request: the file grows by a bounded amount per call", async (t) => {
    const folder = await pemFolder(t);
    const path = join(folder.dir, "audit.jsonl");
    const sink = await openFileAuditSink(path);
    t.after(() => sink.close());
    const agent = await startAuditedAgent(t, { ops: "operator", "kiosk-7": "reader" }, sink);
    const { ca } = await pki;
    const reader = agent.client(await ca.issueClient("kiosk-7"));
    // 150,000 ids of 3 bytes each: a 450 KB request, about 1 MB as JSON.
    const sessionIds = Array.from({ length: 150_000 }, (_, i) => 100_000 + i);
    const calls = 10;
    for (let i = 0; i < calls; i += 1) {
      await rejectsWith(reader.disconnect({ sessionIds }), Status.PERMISSION_DENIED);
    }
    const { size } = await stat(path);
    assert.ok(size <= calls * 4096, `${calls} refused calls wrote ${size} bytes`);
    const records = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as AuditRecord)
      .filter((record): record is ResultRecord => record.kind === "result");
    assert.equal(records.length, calls);
    const [first] = records;
    assert.equal(first?.status?.code, "PERMISSION_DENIED");
    const request = first?.request as { sessionIds?: number[] } | undefined;
    if (request !== undefined) {
      // The request was read (authorization after the message): it is summarised.
      assert.deepEqual(request.sessionIds, sessionIds.slice(0, 16));
      assert.equal(first?.summarised?.lengths["request.sessionIds"], 150_000);
    }
  });

  it("keeps a valid 4,096-id request whole and counts its results by outcome", async (t) => {
    const audit = memoryAudit();
    const agent = await startAuditedAgent(t, { ops: "operator" }, audit);
    const { ca } = await pki;
    const sessionIds = [2, ...Array.from({ length: 4095 }, (_, i) => 1_000_000 + i)];
    const response = await agent
      .client(await ca.issueClient("ops"))
      .disconnect({ sessionIds, expectedHost: TEST_HOST });
    assert.equal(response.results.length, 4096);
    const [intent, result] = audit.records as [AuditRecord, ResultRecord];
    assert.deepEqual((intent.request as { sessionIds: number[] }).sessionIds, sessionIds);
    assert.equal(intent.summarised, undefined);
    assert.deepEqual(
      result.results?.map((r) => [r.sessionId, r.outcome]),
      [[2, "DISCONNECTED"]],
      "what was done is kept in full",
    );
    assert.deepEqual(result.resultCounts, {
      DISCONNECTED: { count: 1, firstSessionIds: [2] },
      NOT_FOUND: { count: 4095, firstSessionIds: sessionIds.slice(1, 17) },
    });
    assert.equal(result.summarised?.lengths["results"], 4096);
    for (const record of audit.records) {
      assert.ok(Buffer.byteLength(JSON.stringify(record)) <= DEFAULT_MAX_AUDIT_RECORD_BYTES);
    }
  });
});

describe("audit: calls that end early", () => {
  it("answers INVALID_ARGUMENT, and audits, requests that do not decode or whose min_idle_time is out of range", async (t) => {
    const audit = memoryAudit();
    const agent = await startAuditedAgent(t, { ops: "operator" }, audit);
    const { ca } = await pki;
    const ops = await ca.issueClient("ops");
    const client = agent.client(ops);
    const filter = (seconds: number) => ({
      userNamePattern: "",
      states: [],
      minIdleTime: { seconds, nanos: 0 },
    });
    await rejectsWith(
      client.disconnectAll({ filter: filter(2 ** 62) }),
      Status.INVALID_ARGUMENT,
      /^the DisconnectAll request is not a valid message: a 64-bit integer is out of range/,
    );
    await rejectsWith(
      client.disconnectAll({ filter: filter(315_576_000_001) }),
      Status.INVALID_ARGUMENT,
      /^filter\.min_idle_time: seconds must be at most 315576000000/,
    );
    // Field 1 (session_ids), length-delimited, announcing 100 bytes that never come.
    await rejectsWith(
      agent.rawCall(ops, DISCONNECT_PATH, Buffer.from([0x0a, 0x64, 0x01])),
      Status.INVALID_ARGUMENT,
      /^the Disconnect request is not a valid message: the protobuf encoding is malformed/,
    );
    assert.deepEqual(agent.backend.disconnectCalls(), []);
    const records = audit.records as ResultRecord[];
    assert.deepEqual(
      records.map((r) => [r.kind, r.rpc, r.status?.code]),
      [
        ["result", "DisconnectAll", "INVALID_ARGUMENT"],
        // Decoded, so it could have acted: its intent came first, the handler refused it.
        ["intent", "DisconnectAll", undefined],
        ["result", "DisconnectAll", "INVALID_ARGUMENT"],
        ["result", "Disconnect", "INVALID_ARGUMENT"],
      ],
    );
    assert.deepEqual(records[0]?.request, {
      undecodable: (records[0]?.request as { undecodable: string }).undecodable,
      bytes: (records[0]?.request as { bytes: number }).bytes,
    });
    assert.match((records[3]?.request as { undecodable: string }).undecodable, /malformed/);
    assert.equal((records[3]?.request as { bytes: number }).bytes, 3);
    const failed = agent.logs.filter((line) => line.msg === "rpc failed");
    assert.deepEqual(
      failed.map((line) => [
        line["identity"],
        line["code"],
        /^127\.0\.0\.1:\d+$/.test(String(line["peer"])),
      ]),
      [
        ["ops", "INVALID_ARGUMENT", true],
        ["ops", "INVALID_ARGUMENT", true],
        ["ops", "INVALID_ARGUMENT", true],
      ],
    );
  });

  it("logs the peer and identity of a request larger than the agent accepts, and audits a mutating one", async (t) => {
    const audit = memoryAudit();
    const agent = await startAuditedAgent(t, { ops: "operator" }, audit, {
      maxReceiveMessageBytes: 4096,
    });
    const { ca } = await pki;
    const client = agent.client(await ca.issueClient("ops"));
    const sessionIds = Array.from({ length: 4000 }, (_, i) => 100_000 + i);
    await rejectsWith(client.disconnect({ sessionIds }), Status.RESOURCE_EXHAUSTED);
    await rejectsWith(client.listSessions({ sessionIds }), Status.RESOURCE_EXHAUSTED);
    assert.deepEqual(agent.backend.disconnectCalls(), []);
    const unread = agent.logs.filter((line) => /before its request was read/.test(line.msg ?? ""));
    assert.deepEqual(
      unread.map((line) => [
        line["method"],
        line["identity"],
        /^127\.0\.0\.1:\d+$/.test(String(line["peer"])),
      ]),
      [
        [DISCONNECT_PATH, "ops", true],
        ["/wms.v1.WmsSessionService/ListSessions", "ops", true],
      ],
    );
    const records = audit.records as ResultRecord[];
    assert.deepEqual(
      records.map((r) => [r.kind, r.rpc, r.identity, r.status?.code, r.request]),
      [["result", "Disconnect", "ops", "UNKNOWN", undefined]],
    );
    assert.match(records[0]?.status?.message ?? "", /before its request was read/);
  });

  it("closes a call cut off by a forced shutdown: its intent is on disk, its result says it may have acted", async (t) => {
    const folder = await pemFolder(t);
    const path = join(folder.dir, "audit.jsonl");
    const sink = await openFileAuditSink(path);
    const held = gate();
    const entered = gate();
    const agent = await startAuditedAgent(t, { ops: "operator" }, sink, {
      wrap: holdDisconnects(held.promise, entered.open),
    });
    t.after(() => held.open());
    const { ca } = await pki;
    const call = agent
      .client(await ca.issueClient("ops"))
      .disconnect({ sessionIds: [2] })
      .catch((error: ServiceError) => error);
    await entered.promise;
    assert.equal(await agent.agent.shutdown({ graceMs: 1 }), "forced");
    await sink.close();
    const answer = await call;
    assert.ok("code" in answer, "the cut-off call was not answered with results");

    const records = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as ResultRecord | AuditRecord);
    assert.deepEqual(
      records.map((r) => r.kind),
      ["intent", "result"],
    );
    const [intent, result] = records as [AuditRecord, ResultRecord];
    assert.equal(result.callId, intent.callId);
    assert.equal(result.status?.code, "UNKNOWN");
    assert.match(result.status?.message ?? "", /grace period .* it may have acted/);
  });
});
