/**
 * No way to starve the agent (issue 10): the attackers are a client with no certificate at all
 * and one with a certificate from the fleet CA but no role. Each attack runs in its own process
 * (test/helpers/hostile-client.ts), so that the descriptors counted here are the agent's; each
 * test measures descriptors, resident memory and TCP states before, during and after, asserts
 * that they stay bounded and come back, and that the agent stays SERVING for a real client. The
 * figures go to the test's diagnostics (`node --test` prints them), never into an assertion on
 * time.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { TEST_HOST } from "../helpers/agent-harness.js";
import { until } from "../helpers/until.js";
import type { HostileEvent } from "../helpers/hostile-client.js";
import type { IssuedCertificate } from "../helpers/test-pki.js";
import { startTlsAgent, testPki as pki } from "../helpers/tls-agent.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const HOSTILE_CLIENT = fileURLToPath(new URL("../helpers/hostile-client.ts", import.meta.url));
const DISCONNECT = "/wms.v1.WmsSessionService/Disconnect";
const LIST_SESSIONS = "/wms.v1.WmsSessionService/ListSessions";

/** Descriptors this process holds (the agent's, and the test's few). */
function descriptors(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Memory after two collections, in MiB: resident, and the live JavaScript heap. */
function memory(): { rss: number; heap: number } {
  gc();
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  return { rss: mib(rss), heap: mib(heapUsed) };
}

/** A before/after figure for the diagnostics. */
function figures(before: { fds: number; rss: number; heap: number }, after: typeof before) {
  return `fds ${before.fds} -> ${after.fds}; RSS ${before.rss} -> ${after.rss} MiB; heap ${before.heap} -> ${after.heap} MiB`;
}

const TCP_STATES: Readonly<Record<string, string>> = {
  "01": "ESTABLISHED",
  "06": "TIME_WAIT",
  "07": "CLOSE",
  "08": "CLOSE_WAIT",
  "0A": "LISTEN",
};

/** The agent's sockets on `port` (its own end), counted by TCP state. */
function socketStates(port: number): Record<string, number> {
  const states: Record<string, number> = {};
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const state = fields[3];
      if (local === undefined || state === undefined) continue;
      if (Number.parseInt(local.slice(local.indexOf(":") + 1), 16) !== port) continue;
      const name = TCP_STATES[state] ?? `state ${state}`;
      states[name] = (states[name] ?? 0) + 1;
    }
  }
  return states;
}

/** A hostile client process; its events in order, and its exit. */
function spawnHostile(
  t: TestContext,
  args: readonly (string | number)[],
  certificate?: IssuedCertificate,
  ca?: string,
) {
  const child = spawn(process.execPath, ["--import", "tsx", HOSTILE_CLIENT, ...args.map(String)], {
    env: {
      ...process.env,
      ...(certificate === undefined
        ? {}
        : {
            HOSTILE_TLS: JSON.stringify({
              ca,
              cert: certificate.cert,
              key: certificate.key,
              servername: TEST_HOST,
            }),
          }),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const seen: HostileEvent[] = [];
  const waiting: { event: string; resolve: (event: HostileEvent) => void }[] = [];
  createInterface({ input: child.stdout }).on("line", (text) => {
    const event = JSON.parse(text) as HostileEvent;
    seen.push(event);
    for (const waiter of waiting.filter((w) => w.event === event.event)) waiter.resolve(event);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    exited,
    next<E extends HostileEvent["event"]>(event: E): Promise<Extract<HostileEvent, { event: E }>> {
      const already = seen.find((e) => e.event === event);
      if (already !== undefined) {
        return Promise.resolve(already as Extract<HostileEvent, { event: E }>);
      }
      return new Promise((resolve) =>
        waiting.push({ event, resolve: resolve as (event: HostileEvent) => void }),
      );
    },
  };
}

/**
 * Growth of the live heap that an attack may leave behind, in MiB: what a leak per connection or
 * per stream would exceed many times over (tens of thousands of streams), and what the agent's
 * caches and V8's own bookkeeping stay under.
 */
const MAX_HEAP_GROWTH_MIB = 16;

describe("no way to starve the agent", { timeout: 240_000 }, () => {
  it("closes thousands of TCP connections that never start TLS; descriptors stay bounded", async (t) => {
    const maxConnections = 1024;
    const attempts = 2000;
    const secure = await startTlsAgent(t, { maxConnections, handshakeTimeoutMs: 2000 });
    assert.equal(await secure.health(), "SERVING");
    await until(() => secure.agent.openConnections() === 0, {
      what: "the health connection closed",
      everyMs: 50,
      signal: t.signal,
    });
    const before = { fds: descriptors(), ...memory() };

    const attacker = spawnHostile(t, ["silent-tcp", secure.port, attempts]);
    let peak = before.fds;
    const sampler = setInterval(() => (peak = Math.max(peak, descriptors())), 20);
    t.after(() => clearInterval(sampler));
    const connected = await attacker.next("connected");
    const during = { fds: descriptors(), ...memory(), open: secure.agent.openConnections() };
    assert.ok(connected.opened > maxConnections, `the attacker got ${connected.opened} through`);
    assert.ok(during.open <= maxConnections, `${during.open} connections open`);
    assert.ok(
      during.fds <= before.fds + maxConnections + 16,
      `descriptors: ${during.fds} with the limit at ${maxConnections} over ${before.fds}`,
    );
    // A real client still gets in: the oldest silent connection makes room for it.
    assert.equal(await secure.health(), "SERVING");

    // Every one of the attacker's connections is closed by the agent (limit or handshake timeout).
    await attacker.next("closed");
    assert.equal(await attacker.exited, 0);
    await until(() => secure.agent.openConnections() === 0, {
      what: "every connection closed",
      everyMs: 50,
      signal: t.signal,
    });
    clearInterval(sampler);
    const after = { fds: descriptors(), ...memory() };
    assert.ok(after.fds <= before.fds + 4, `descriptors back: ${after.fds} (${before.fds} before)`);
    assert.ok(after.heap - before.heap < MAX_HEAP_GROWTH_MIB, figures(before, after));
    assert.equal(secure.agent.state(), "serving");
    assert.equal(await secure.health(), "SERVING");
    t.diagnostic(
      `${attempts} silent TCP connections (maxConnections ${maxConnections}, handshake timeout 2 s here, 10 s by default): ` +
        `peak fds ${peak}, ${during.open} open and RSS ${during.rss} MiB during; ${figures(before, after)}`,
    );
  });

  for (const [who, path, connections] of [
    ["a certificate with no role", DISCONNECT, 10],
    ["an operator", LIST_SESSIONS, 5],
  ] as const) {
    it(`cleans up after an HTTP/2 rapid reset by ${who}: no CLOSE_WAIT, descriptors back`, async (t) => {
      const secure = await startTlsAgent(t);
      const { ca, stranger, operator } = await pki;
      const before = { fds: descriptors(), ...memory() };
      const streams = 1000;
      const attacker = spawnHostile(
        t,
        ["rapid-reset", secure.port, connections, streams, path],
        who === "an operator" ? operator : stranger,
        ca.cert,
      );
      const connected = await attacker.next("connected");
      assert.equal(connected.opened, connections);
      // The attacker half-closed every connection; the agent must close its side of each.
      await attacker.next("closed");
      await until(() => secure.agent.openConnections() === 0, {
        what: "every connection closed",
        everyMs: 50,
        signal: t.signal,
      });
      await until(() => (socketStates(secure.port)["CLOSE_WAIT"] ?? 0) === 0, {
        what: "no socket in CLOSE_WAIT",
        everyMs: 50,
        signal: t.signal,
      });
      const after = { fds: descriptors(), ...memory() };
      assert.deepEqual(socketStates(secure.port), { LISTEN: 1 });
      assert.ok(after.fds <= before.fds + 4, `descriptors back: ${after.fds} (${before.fds})`);
      assert.ok(after.heap - before.heap < MAX_HEAP_GROWTH_MIB, figures(before, after));
      assert.equal(await secure.health(), "SERVING");
      assert.deepEqual(secure.backend.disconnectCalls(), []);
      t.diagnostic(
        `rapid reset by ${who}, ${connections} connections x ${streams} HEADERS+RST_STREAM: ${figures(before, after)}`,
      );
    });
  }

  it("answers streams that each send most of a large message before reading it; memory stays bounded", async (t) => {
    const secure = await startTlsAgent(t);
    const { ca, stranger } = await pki;
    const before = { fds: descriptors(), ...memory() };
    const connections = 10;
    const streams = 100;
    // Just under the default 64 KiB limit: each message is one byte short of complete.
    const bytes = 64 * 1024 - 16;
    const attacker = spawnHostile(
      t,
      ["large-streams", secure.port, connections, streams, bytes, DISCONNECT],
      stranger,
      ca.cert,
    );
    const { answers } = await attacker.next("streams");
    assert.equal(await attacker.exited, 0);
    await until(() => secure.agent.openConnections() === 0, {
      what: "every connection closed",
      everyMs: 50,
      signal: t.signal,
    });
    const after = { fds: descriptors(), ...memory() };
    const total = Object.values(answers).reduce((sum, n) => sum + n, 0);
    assert.equal(total, connections * streams);
    assert.equal(answers["grpc-status 0"], undefined, "no stream succeeded");
    // Refused on its headers, before its message was read: PERMISSION_DENIED, then (the
    // allowance spent) RESOURCE_EXHAUSTED with the connection closed under the others.
    assert.ok((answers["grpc-status 7"] ?? 0) > 0, JSON.stringify(answers));
    assert.ok(after.fds <= before.fds + 4, `descriptors back: ${after.fds} (${before.fds})`);
    // 10 x 100 x 64 KiB = 62.5 MiB were sent; the agent kept none of it.
    assert.ok(after.heap - before.heap < MAX_HEAP_GROWTH_MIB, figures(before, after));
    assert.ok(after.rss - before.rss < 64, figures(before, after));
    assert.equal(await secure.health(), "SERVING");
    assert.deepEqual(secure.backend.disconnectCalls(), []);
    t.diagnostic(
      `unfinished ${bytes}-byte messages, ${connections} connections x ${streams} streams by a certificate with no role: ` +
        `${JSON.stringify(answers)}; ${figures(before, after)}`,
    );
  });
});
