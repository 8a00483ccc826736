/**
 * `wms-agent` under mutual TLS as a spawned process: start-up refusals for each kind of broken
 * certificate file (exit 2, a message naming the file and the problem, nothing bound), and SIGHUP
 * reloading the allow-list, the certificates and the audit log from the config file — or keeping
 * everything when the new configuration is broken.
 */
import assert from "node:assert/strict";
import { chmod, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it, type TestContext } from "node:test";
import { credentials, status as Status, type ServiceError } from "@grpc/grpc-js";
import { WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient, type TestClient } from "../helpers/agent-harness.js";
import {
  runAgent,
  runMain,
  spawnAgent,
  type AgentProcess,
  type LogLine,
} from "../helpers/agent-process.js";
import {
  createTestCa,
  pemFolder,
  validityWindows,
  type IssuedCertificate,
  type PemFolder,
  type TestCa,
} from "../helpers/test-pki.js";

const HOST = "mps01.lab.example.com";

interface Pki {
  readonly ca: TestCa;
  readonly agent: IssuedCertificate;
}

let pki: Pki;
before(async () => {
  const ca = await createTestCa("wmsfleet e2e CA");
  pki = { ca, agent: await ca.issueServer([HOST]) };
});

/** Writes the good agent files into `folder`; `overrides` replace some of them by content. */
async function agentFiles(
  folder: PemFolder,
  overrides: { cert?: string; key?: string; ca?: string } = {},
): Promise<{ cert: string; key: string; ca: string }> {
  return {
    cert: await folder.write("agent.pem", overrides.cert ?? pki.agent.cert),
    key: await folder.write("agent.key", overrides.key ?? pki.agent.key),
    ca: await folder.write("ca.pem", overrides.ca ?? pki.ca.cert),
  };
}

function tlsArgs(files: { cert: string; key: string; ca: string }): string[] {
  return ["--tls-cert", files.cert, "--tls-key", files.key, "--tls-ca", files.ca];
}

/** A spawned agent under mutual TLS (the TLS flags are in `args`). */
function spawnSecureAgent(t: TestContext, args: readonly string[]): Promise<AgentProcess> {
  return spawnAgent(t, ["--host-fqdn", HOST, ...args], {}, { insecureLoopback: false });
}

/** A client of `port` presenting `client`, trusting `ca`, verifying the agent as HOST. */
function clientOf(
  t: TestContext,
  port: number,
  client: IssuedCertificate,
  ca: TestCa = pki.ca,
): TestClient {
  const raw = new WmsSessionServiceClient(
    `127.0.0.1:${port}`,
    credentials.createSsl(Buffer.from(ca.cert), Buffer.from(client.key), Buffer.from(client.cert)),
    { "grpc.ssl_target_name_override": HOST, "grpc.default_authority": HOST },
  );
  t.after(() => raw.close());
  return promisifyClient(raw);
}

async function rejectsWith(call: Promise<unknown>, code: Status, message?: RegExp): Promise<void> {
  await assert.rejects(call, (error: ServiceError) => {
    assert.equal(Status[error.code], Status[code], error.details);
    if (message !== undefined) assert.match(error.details, message);
    return true;
  });
}

/** Resolves with the next "configuration reloaded" or "reload failed" line after SIGHUP. */
async function reload(agent: AgentProcess): Promise<LogLine> {
  const seen = agent.lines.length;
  agent.child.kill("SIGHUP");
  return agent.waitForLine(
    (line) =>
      agent.lines.indexOf(line) >= seen &&
      (line.msg === "configuration reloaded" ||
        /^configuration reload failed/.test(line.msg ?? "")),
  );
}

describe("wms-agent start-up with broken certificate files: exit 2, a precise message", () => {
  const cases: [
    string,
    (folder: PemFolder) => Promise<{ cert: string; key: string; ca: string }>,
    (files: { cert: string; key: string; ca: string }) => RegExp,
  ][] = [
    [
      "a missing certificate file",
      async (folder) => ({ ...(await agentFiles(folder)), cert: join(folder.dir, "nope.pem") }),
      (f) => new RegExp(`--tls-cert ${escape(f.cert)}: cannot read the file: no such file`),
    ],
    [
      "a missing key file",
      async (folder) => ({ ...(await agentFiles(folder)), key: join(folder.dir, "nope.key") }),
      (f) => new RegExp(`--tls-key ${escape(f.key)}: cannot read the file: no such file`),
    ],
    [
      "a CA path that is a folder",
      async (folder) => ({ ...(await agentFiles(folder)), ca: folder.dir }),
      (f) => new RegExp(`--tls-ca ${escape(f.ca)}: cannot read the file: is a folder`),
    ],
    [
      "a certificate file that is not PEM",
      (folder) => agentFiles(folder, { cert: "hello\n" }),
      (f) => new RegExp(`--tls-cert ${escape(f.cert)}: not a PEM file`),
    ],
    [
      "certificate and key swapped",
      (folder) => agentFiles(folder, { cert: pki.agent.key, key: pki.agent.cert }),
      (f) => new RegExp(`${escape(f.cert)}: holds a PRIVATE KEY but no certificate.*swapped`),
    ],
    [
      "a key that does not match the certificate",
      async (folder) => {
        const other = await pki.ca.issueServer([HOST]);
        return agentFiles(folder, { key: other.key });
      },
      (f) =>
        new RegExp(
          `--tls-key ${escape(f.key)}: this private key does not belong to the certificate in ${escape(f.cert)}`,
        ),
    ],
    [
      "an expired agent certificate",
      async (folder) => {
        const expired = await pki.ca.issueServer([HOST], [], validityWindows.expired);
        return agentFiles(folder, { cert: expired.cert, key: expired.key });
      },
      (f) =>
        new RegExp(
          `--tls-cert ${escape(f.cert)}: the certificate "CN=${escape(HOST)}" has expired \\(valid from ${escape(validityWindows.expired.notBefore.toISOString())} to ${escape(validityWindows.expired.notAfter.toISOString())}; it is now `,
        ),
    ],
    [
      "an agent certificate not valid yet",
      async (folder) => {
        const early = await pki.ca.issueServer([HOST], [], validityWindows.notYetValid);
        return agentFiles(folder, { cert: early.cert, key: early.key });
      },
      (f) =>
        new RegExp(
          `--tls-cert ${escape(f.cert)}: .* is not valid yet \\(valid from ${escape(validityWindows.notYetValid.notBefore.toISOString())}`,
        ),
    ],
    [
      "a CA file whose certificate is not a CA",
      async (folder) => agentFiles(folder, { ca: (await pki.ca.issueClient("ops")).cert }),
      (f) =>
        new RegExp(
          `--tls-ca ${escape(f.ca)}: the certificate "CN=ops" is not a CA certificate \\(basicConstraints cA is not set\\)`,
        ),
    ],
    [
      "an expired CA",
      async (folder) => {
        const old = await createTestCa("old CA", validityWindows.expired);
        return agentFiles(folder, { ca: old.cert });
      },
      (f) => new RegExp(`--tls-ca ${escape(f.ca)}: the certificate "CN=old CA" has expired`),
    ],
    [
      "a key its group can read (Linux: like OpenSSH and PostgreSQL)",
      async (folder) => {
        const files = await agentFiles(folder);
        await chmod(files.key, 0o640);
        return files;
      },
      (f) =>
        new RegExp(
          `--tls-key ${escape(f.key)}: the private key is accessible to its group \\(mode 0640\\); .* chmod 600 ${escape(f.key)}$`,
          "m",
        ),
    ],
    [
      "a key every user can read",
      async (folder) => {
        const files = await agentFiles(folder);
        await chmod(files.key, 0o604);
        return files;
      },
      (f) =>
        new RegExp(
          `--tls-key ${escape(f.key)}: the private key is accessible to every other user \\(mode 0604\\)`,
        ),
    ],
    [
      "a client certificate given as the agent's",
      async (folder) => {
        const client = await pki.ca.issueClient("ops");
        return agentFiles(folder, { cert: client.cert, key: client.key });
      },
      (f) => new RegExp(`--tls-cert ${escape(f.cert)}: .* is not a TLS server certificate`),
    ],
  ];
  const args = (files: { cert: string; key: string; ca: string }) => [
    ...["--listen", "127.0.0.1:0", "--host-fqdn", HOST],
    ...tlsArgs(files),
    ...["--allow", "ops=operator"],
  ];
  // main() decides these before it serves, the same code in this process as in a spawned agent:
  // the table runs in-process (a process each cost 11 start-ups); the last case spawns the agent.
  for (const [name, make, message] of cases) {
    it(`refuses ${name}`, async (t) => {
      const folder = await pemFolder(t);
      const files = await make(folder);
      const result = await runMain(args(files));
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message(files));
      assert.match(result.stderr, /^wms-agent: /);
      assert.doesNotMatch(result.stdout, /agent listening/);
    });
  }

  it("refuses as a process: exit status 2, the same message on standard error", async (t) => {
    const [, make, message] =
      cases.find(([name]) => name === "a key that does not match the certificate") ??
      assert.fail("no such case");
    const files = await make(await pemFolder(t));
    const result = await runAgent(args(files));
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message(files));
    assert.doesNotMatch(result.stdout, /agent listening/);
  });
});

describe("wms-agent under mutual TLS, reloaded with SIGHUP", () => {
  it("serves an operator, then applies a new allow-list from the config file", async (t) => {
    const folder = await pemFolder(t);
    const files = await agentFiles(folder);
    const audit = join(folder.dir, "audit.jsonl");
    const config = join(folder.dir, "agent.json");
    await writeFile(
      config,
      JSON.stringify({ allow: ["ops=operator", "kiosk-7=reader"], auditLog: audit }),
    );
    const agent = await spawnSecureAgent(t, [...tlsArgs(files), "--config", config]);
    const ops = clientOf(t, agent.port, await pki.ca.issueClient("ops"));
    const kiosk = clientOf(t, agent.port, await pki.ca.issueClient("kiosk-7"));
    assert.equal((await ops.disconnect({ sessionIds: [2], whatIf: true })).results.length, 1);
    await rejectsWith(kiosk.disconnect({ sessionIds: [2] }), Status.PERMISSION_DENIED);

    await writeFile(config, JSON.stringify({ allow: ["kiosk-7=operator"], auditLog: audit }));
    const reloaded = await reload(agent);
    assert.equal(reloaded.msg, "configuration reloaded");
    assert.deepEqual(reloaded["allow"], ["kiosk-7=operator"]);
    assert.deepEqual(reloaded["needsRestart"], []);

    await rejectsWith(ops.listSessions(), Status.PERMISSION_DENIED, /"ops" is not allowed/);
    assert.equal((await kiosk.disconnect({ sessionIds: [3], whatIf: true })).results.length, 1);

    const records = (await readFile(audit, "utf8"))
      .trim()
      .split("\n")
      .map(
        (line) => JSON.parse(line) as { kind: string; identity: string; status?: { code: string } },
      )
      .filter((record) => record.kind === "result");
    assert.deepEqual(
      records.map((r) => [r.identity, r.status?.code ?? "OK"]),
      [
        ["ops", "OK"],
        ["kiosk-7", "PERMISSION_DENIED"],
        ["kiosk-7", "OK"],
      ],
    );
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
  });

  it("keeps the whole previous configuration when the new one is broken", async (t) => {
    const folder = await pemFolder(t);
    const files = await agentFiles(folder);
    const config = join(folder.dir, "agent.json");
    await writeFile(config, JSON.stringify({ allow: ["ops=operator"] }));
    const agent = await spawnSecureAgent(t, [...tlsArgs(files), "--config", config]);
    const ops = clientOf(t, agent.port, await pki.ca.issueClient("ops"));

    await writeFile(config, JSON.stringify({ allow: ["ops=admin"] }));
    const badRole = await reload(agent);
    assert.match(badRole.msg ?? "", /^configuration reload failed/);
    assert.match(String(badRole["error"]), /role "admin" is not reader or operator/);
    assert.equal((await ops.disconnect({ sessionIds: [2], whatIf: true })).results.length, 1);

    // A valid allow-list with a broken key file: neither is applied.
    await writeFile(config, JSON.stringify({ allow: ["ops=reader"] }));
    await writeFile(files.key, (await pki.ca.issueServer([HOST])).key);
    const badKey = await reload(agent);
    assert.match(String(badKey["error"]), /does not belong to the certificate/);
    assert.equal((await ops.disconnect({ sessionIds: [2], whatIf: true })).results.length, 1);
  });

  it("replaces the certificates, and reopens a rotated audit log", async (t) => {
    const folder = await pemFolder(t);
    const files = await agentFiles(folder);
    const audit = join(folder.dir, "audit.jsonl");
    const agent = await spawnSecureAgent(t, [
      ...tlsArgs(files),
      "--allow",
      "ops=operator",
      "--audit-log",
      audit,
    ]);
    const earlier = clientOf(t, agent.port, await pki.ca.issueClient("ops"));
    await earlier.disconnect({ sessionIds: [2], whatIf: true });

    const next = await createTestCa("wmsfleet e2e CA 2");
    const nextAgent = await next.issueServer([HOST]);
    await writeFile(files.cert, nextAgent.cert);
    await writeFile(files.key, nextAgent.key);
    await writeFile(files.ca, `${next.cert}${pki.ca.cert}`);
    await rename(audit, `${audit}.1`);
    const reloaded = await reload(agent);
    assert.equal(reloaded.msg, "configuration reloaded", String(reloaded["error"]));
    assert.deepEqual(reloaded["applied"], [
      "auditLog",
      "allow",
      "tls",
      "logLevel",
      "shutdownGrace",
    ]);
    assert.equal(reloaded["certificate"], `CN=${HOST}`);

    // Clients of the new CA get in; the old CA is still trusted for clients (both in ca.pem),
    // and the connection made before the reload still works.
    const after = clientOf(t, agent.port, await next.issueClient("ops"), next);
    await after.disconnect({ sessionIds: [3], whatIf: true });
    await earlier.disconnect({ sessionIds: [4], whatIf: true });
    const rotated = await readFile(`${audit}.1`, "utf8");
    const fresh = await readFile(audit, "utf8");
    assert.equal(rotated.trim().split("\n").length, 1);
    assert.equal(fresh.trim().split("\n").length, 2);
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
