/**
 * The console's fleet over real agents: hosts with status, version, backend and counts; every
 * session with its filters; the event stream (a change made by wmsctl reaches it); an agent
 * killed and restarted goes unreachable, then online with its sessions back; a refused console is
 * denied; the inventory reloaded (file change, SIGHUP's reload) adds and removes hosts without a
 * restart, and a bad one changes nothing.
 */
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { RpcError } from "../../agent/server/rpc-error.js";
import type { ApiErrorBody, HostList, SessionList } from "../../console/api/types.js";
import { TEST_CONTROLLER, startTestConsole, type TestConsole } from "../helpers/console-harness.js";
import { openEvents, waitForFleet } from "../helpers/console-events.js";
import {
  startFleet,
  stopFleet,
  type FleetHost,
  type FleetHostSpec,
} from "../helpers/controller-fleet.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { runWmsctl } from "../helpers/controller-cli.js";

function inventoryOf(hosts: readonly { fqdn: string; port: number }[]): string {
  return hosts.map((h) => `${h.fqdn} 127.0.0.1:${h.port}\n`).join("");
}

const portOf = (host: FleetHost) => host.agent.ports[0] ?? 0;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wms-console-fleet-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function fleetConsole(
  t: TestContext,
  specs: readonly FleetHostSpec[],
): Promise<{ console: TestConsole; hosts: FleetHost[]; inventory: string; token: string }> {
  const hosts = await startFleet(specs);
  t.after(() => stopFleet(hosts));
  const inventory = join(await tempDir(t), "lab.txt");
  await writeFile(inventory, inventoryOf(hosts.map((h) => ({ fqdn: h.fqdn, port: portOf(h) }))));
  const console = await startTestConsole(
    t,
    { inventory: [inventory] },
    { controller: TEST_CONTROLLER },
  );
  await console.addUser("reader", "reader");
  const { token } = await console.addToken("reader");
  return { console, hosts, inventory, token };
}

describe("console fleet: hosts and sessions", () => {
  it("every host online with version, backend and counts; sessions filtered by host, user, state and minIdle", async (t) => {
    const { console, token } = await fleetConsole(t, [
      { fqdn: "ws1.lab.example.com" },
      { fqdn: "ws2.lab.example.com" },
    ]);
    await waitForFleet(console.fleet, () =>
      console.fleet.hosts().every((h) => h.status === "online" && h.version !== null),
    );
    const headers = { authorization: `Bearer ${token}` };
    const { hosts } = (await (
      await console.fetch("/api/v1/hosts", { headers })
    ).json()) as HostList;
    assert.deepEqual(
      hosts.map((h) => h.host),
      ["ws1.lab.example.com", "ws2.lab.example.com"],
    );
    for (const host of hosts) {
      assert.equal(host.status, "online");
      assert.equal(host.backend, "simulated");
      assert.match(host.version ?? "", /^\d+\.\d+\.\d+/);
      assert.deepEqual(host.counts, {
        ACTIVE: 13,
        CONNECTED: 1,
        DISCONNECTED: 2,
        IDLE: 2,
        LISTEN: 1,
      });
      assert.equal(host.locked, 1);
      assert.equal(host.problem, null);
      assert.match(host.lastAnswer ?? "", /^\d{4}-/);
    }
    const get = async (query: string) =>
      ((await (await console.fetch(`/api/v1/sessions${query}`, { headers })).json()) as SessionList)
        .sessions;
    assert.equal((await get("")).length, 38);
    const ws2 = await get("?host=WS2.lab.example.com");
    assert.equal(ws2.length, 19);
    assert.ok(ws2.every((s) => s.host === "ws2.lab.example.com"));
    const idle = await get("?host=ws1.lab.example.com&minIdle=30m");
    assert.deepEqual(
      idle.map((s) => [s.sessionId, s.user, s.state]),
      [
        [5, "oliver.bennett", "IDLE"],
        [8, "chloe.dubois", "IDLE"],
      ],
    );
    assert.ok((idle[0]?.idleSeconds ?? 0) >= 1870);
    assert.equal(idle[0]?.locked, true);
    // The user's groups as the agent read them; none for a session nobody is logged on to.
    assert.deepEqual(idle[0]?.groups, ["LAB\\Students"]);
    const all = await get("?host=ws1.lab.example.com");
    assert.deepEqual(all.find((s) => s.user === "m.okafor")?.groups, [
      "LAB\\Staff",
      "LAB\\Teachers",
    ]);
    assert.deepEqual(all.find((s) => s.user === "")?.groups, []);
    const users = await get("?host=ws1.lab.example.com&user=LAB\\a*");
    assert.deepEqual(
      users.map((s) => s.user),
      ["amelia.hughes"],
    );
    const states = await get("?host=ws1.lab.example.com&state=disconnected,listen");
    assert.deepEqual(
      states.map((s) => s.sessionId),
      [0, 16, 65536],
    );
    assert.equal(states.find((s) => s.sessionId === 0)?.protection, "AGENT_SESSION");
    for (const query of [
      "?minIdle=30",
      "?state=ASLEEP",
      "?user=a|b",
      "?colour=red",
      "?minIdle=40d",
    ]) {
      const response = await console.fetch(`/api/v1/sessions${query}`, { headers });
      assert.equal(response.status, 400, query);
      assert.equal(((await response.json()) as ApiErrorBody).error.code, "bad_request");
    }
    assert.equal((await console.fetch("/api/v1/hosts")).status, 401);
  });

  it("a host that refuses the console is denied, with the agent's words", async (t) => {
    const deny = () => {
      throw new RpcError(status.PERMISSION_DENIED, "identity console may not call WatchSessions");
    };
    const { console } = await fleetConsole(t, [
      { fqdn: "locked.lab.example.com", authorize: deny },
    ]);
    await waitForFleet(
      console.fleet,
      () => console.fleet.host("locked.lab.example.com")?.status === "denied",
    );
    const host = console.fleet.host("locked.lab.example.com");
    assert.equal(host?.problem?.code, "PERMISSION_DENIED");
    assert.match(host?.problem?.message ?? "", /may not call WatchSessions/);
  });
});

describe("console fleet: events", () => {
  it("the stream opens with a snapshot, and a disconnect made by wmsctl reaches it as a change", async (t) => {
    const { console, hosts, token } = await fleetConsole(t, [{ fqdn: "ws1.lab.example.com" }]);
    await waitForFleet(
      console.fleet,
      () => console.fleet.host("ws1.lab.example.com")?.status === "online",
    );
    const stream = await openEvents(console.url, { authorization: `Bearer ${token}` });
    t.after(() => stream.close());
    assert.equal(stream.response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const snapshot = await stream.next((e) => e.type === "snapshot");
    assert.equal(snapshot.type === "snapshot" && snapshot.sessions.length, 19);
    const host = hosts[0] as FleetHost;
    const run = await runWmsctl([
      "disconnect",
      "7",
      "-s",
      "ws1.lab.example.com",
      "--resolve",
      `ws1.lab.example.com=127.0.0.1:${portOf(host)}`,
      "--insecure-loopback",
      "-o",
      "json",
    ]);
    assert.equal(run.status, 0, run.stderr);
    const change = await stream.next(
      (e) =>
        e.type === "sessions" &&
        e.changes.some((c) => c.kind === "changed" && c.session.sessionId === 7),
    );
    assert.ok(change.type === "sessions");
    const seven = change.changes.find((c) => c.kind === "changed" && c.session.sessionId === 7);
    assert.ok(seven?.kind === "changed");
    assert.equal(seven.session.state, "DISCONNECTED");
    assert.equal(seven.session.user, "liam.oconnor");
    assert.equal(change.host, "ws1.lab.example.com");
    const counts = await stream.next((e) => e.type === "host" && e.host.counts.DISCONNECTED === 3);
    assert.ok(counts.type === "host");
  });

  it("the stream needs a reader; an unknown query parameter is refused", async (t) => {
    const { console, token } = await fleetConsole(t, [{ fqdn: "ws1.lab.example.com" }]);
    const anonymous = await openEvents(console.url, {});
    assert.equal(anonymous.response.status, 401);
    const response = await console.fetch("/api/v1/events?since=1", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 400);
  });
});

describe("console fleet: agents that go and come back", () => {
  it("an agent killed goes unreachable and loses its sessions; restarted on its port it is online with its sessions back", async (t) => {
    const first = await spawnAgent(t, []);
    const inventory = join(await tempDir(t), "lab.txt");
    await writeFile(inventory, `mps01.lab.example.com 127.0.0.1:${first.port}\n`);
    const console = await startTestConsole(
      t,
      { inventory: [inventory] },
      { controller: TEST_CONTROLLER },
    );
    const host = () => console.fleet.host("mps01.lab.example.com");
    await waitForFleet(
      console.fleet,
      () => host()?.status === "online" && host()?.counts.ACTIVE === 13,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    await waitForFleet(console.fleet, () => host()?.status === "unreachable");
    assert.deepEqual(host()?.counts, {});
    assert.equal(console.fleet.sessions().length, 0);
    assert.equal(host()?.problem?.code, "UNAVAILABLE");
    await spawnAgent(t, ["--listen", `127.0.0.1:${first.port}`]);
    await waitForFleet(
      console.fleet,
      () => host()?.status === "online" && host()?.counts.ACTIVE === 13,
    );
    assert.equal(console.fleet.sessions().length, 19);
  });
});

describe("console fleet: inventory reload", () => {
  it("a changed file adds and removes hosts without a restart; a bad one changes nothing", async (t) => {
    const { console, hosts, inventory } = await fleetConsole(t, [
      { fqdn: "ws1.lab.example.com" },
      { fqdn: "ws2.lab.example.com" },
    ]);
    const [one, two] = hosts as [FleetHost, FleetHost];
    const names = () => console.fleet.hosts().map((h) => h.host);
    await writeFile(inventory, inventoryOf([{ fqdn: two.fqdn, port: portOf(two) }]));
    // Seen through the file watch, with no reload asked for.
    await waitForFleet(console.fleet, () => names().join() === "ws2.lab.example.com");
    await writeFile(
      inventory,
      inventoryOf([
        { fqdn: two.fqdn, port: portOf(two) },
        { fqdn: one.fqdn, port: portOf(one) },
      ]),
    );
    await waitForFleet(
      console.fleet,
      () =>
        names().join() === "ws2.lab.example.com,ws1.lab.example.com" &&
        console.fleet.hosts().every((h) => h.status === "online"),
    );
    await writeFile(inventory, "not a host name!\n");
    await console.reload("SIGHUP");
    assert.deepEqual(names(), ["ws2.lab.example.com", "ws1.lab.example.com"]);
  });
});
