/**
 * Protection rule 3's decision from a call's peer: remote, resolved (with the sessions of every
 * process holding the client's socket), or unresolved — failing closed — with the reason.
 */
import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { TcpEndpoint } from "../../common/ip-address.js";
import {
  createCallerLookup,
  platformPeerResolver,
  type CallerLookupOptions,
  type PeerProcessResolver,
} from "../../agent/caller/caller-process.js";
import { createHostAddresses } from "../../agent/caller/host-addresses.js";

/** This host: a LAN IPv4, a global and a link-local IPv6. */
const INTERFACES = {
  lo: [{ address: "127.0.0.1" }, { address: "::1" }],
  eth0: [{ address: "192.0.2.2" }, { address: "2001:db8::2" }, { address: "fe80::fc:ff:fe00:1" }],
};

/** Processes 100 (session 3), 200 (session 5), 300 (no session); 404 has exited. */
const backend: CallerLookupOptions["backend"] = {
  sessionOfProcess(pid) {
    const sessions = new Map([
      [100, 3],
      [200, 5],
    ]);
    if (pid === 404) return Promise.reject(new Error("process 404 does not exist any more"));
    return Promise.resolve(sessions.get(pid));
  },
};

function lookupWith(
  resolver: PeerProcessResolver | null,
  extra: Partial<CallerLookupOptions> = {},
) {
  return createCallerLookup({
    backend,
    resolver,
    localPorts: () => [50061],
    hostAddresses: createHostAddresses({ interfaces: () => INTERFACES }),
    logger: pino({ enabled: false }),
    ...extra,
  });
}

/** A resolver that answers `pids` and records what it was asked. */
function answering(pids: number[]) {
  const asked: [TcpEndpoint, TcpEndpoint][] = [];
  const resolver: PeerProcessResolver = (peer, local) => {
    asked.push([peer, local]);
    return Promise.resolve(pids);
  };
  return { resolver, asked };
}

void describe("createCallerLookup", () => {
  void it("leaves remote peers alone without asking for their process", async () => {
    const { resolver, asked } = answering([100]);
    const lookup = lookupWith(resolver);
    for (const peer of ["10.1.2.3:40000", "[2001:db8::99]:40000", "::ffff:198.51.100.7:40000"]) {
      assert.deepEqual(await lookup(peer), { kind: "remote" }, peer);
    }
    assert.deepEqual(asked, []);
  });

  void it("treats loopback and every address of this host's interfaces as local", async () => {
    for (const peer of [
      "127.0.0.1:40000",
      "[::1]:40000",
      "[::ffff:127.0.0.1]:40000",
      "192.0.2.2:40000",
      "[::ffff:192.0.2.2]:40000",
      "[2001:db8::2]:40000",
      "[2001:DB8:0::2]:40000",
      "[fe80::fc:ff:fe00:1]:40000",
      "[fe80::fc:ff:fe00:1%eth0]:40000",
    ]) {
      const { resolver, asked } = answering([100]);
      assert.deepEqual(
        await lookupWith(resolver)(peer),
        { kind: "resolved", sessionIds: [3] },
        peer,
      );
      assert.equal(asked.length, 1, peer);
    }
  });

  void it("asks about the call's own local end when known, else each listening port", async () => {
    const known = answering([100]);
    const local = { address: "192.0.2.2", port: 50099 };
    await lookupWith(known.resolver)("192.0.2.2:40000", local);
    assert.deepEqual(known.asked, [[{ address: "192.0.2.2", port: 40000 }, local]]);

    const asked: number[] = [];
    const byPort: PeerProcessResolver = (_peer, end) => {
      asked.push(end.port);
      return Promise.resolve(end.port === 50062 ? [200] : []);
    };
    const lookup = lookupWith(byPort, { localPorts: () => [50061, 50062, 50063] });
    assert.deepEqual(await lookup("127.0.0.1:40000"), { kind: "resolved", sessionIds: [5] });
    assert.deepEqual(asked, [50061, 50062]);
  });

  void it("protects the sessions of every process that holds the socket", async () => {
    const { resolver } = answering([100, 200, 300]);
    assert.deepEqual(await lookupWith(resolver)("127.0.0.1:40000"), {
      kind: "resolved",
      sessionIds: [3, 5],
    });
    // A process in no session (the simulated backend's processes without WMSFLEET_SIM_SESSION).
    assert.deepEqual(await lookupWith(answering([300]).resolver)("127.0.0.1:40000"), {
      kind: "resolved",
      sessionIds: [],
    });
  });

  void it("fails closed, saying why, whenever a local caller's process is not known", async () => {
    const cases: [string, PeerProcessResolver | null, string, RegExp][] = [
      [
        "nobody holds the socket",
        answering([]).resolver,
        "127.0.0.1:40000",
        /no process on this host holds the client's end/,
      ],
      [
        "the lookup failed",
        () => Promise.reject(new Error("EACCES")),
        "192.0.2.2:40000",
        /lookup of the caller's process failed: EACCES/,
      ],
      [
        "the process exited",
        answering([100, 404]).resolver,
        "[::1]:40000",
        /session of process 404 is unknown: process 404 does not exist/,
      ],
      [
        "no resolver on this platform",
        null,
        "127.0.0.1:40000",
        /cannot find a local caller's process/,
      ],
      [
        "a peer that is not an address",
        answering([100]).resolver,
        "unix:/run/wms.sock",
        /is not an IP address and port/,
      ],
    ];
    for (const [name, resolver, peer, reason] of cases) {
      const answer = await lookupWith(resolver)(peer);
      assert.equal(answer.kind, "unresolved", name);
      assert.match(answer.kind === "unresolved" ? answer.reason : "", reason, name);
    }
  });

  void it("picks the platform's resolver: procfs on Linux, the TCP table on Windows", () => {
    assert.equal(typeof platformPeerResolver("linux"), "function");
    assert.equal(typeof platformPeerResolver("win32"), "function");
    assert.equal(platformPeerResolver("darwin"), null);
  });
});

void describe("createHostAddresses", () => {
  void it("reads the interfaces again once the last reading is older than maxAgeMs", () => {
    let clock = 0;
    let readings = 0;
    let current: Record<string, { address: string }[]> = { eth0: [{ address: "192.0.2.2" }] };
    const host = createHostAddresses({
      maxAgeMs: 1000,
      now: () => clock,
      interfaces: () => {
        readings++;
        return current;
      },
    });
    assert.equal(host.isLocal("192.0.2.2"), true);
    assert.equal(host.isLocal("127.0.0.1"), true, "loopback needs no reading");
    assert.equal(host.isLocal("198.51.100.9"), false);
    assert.equal(readings, 1);
    // DHCP moved the host: the old reading holds for maxAgeMs, then the new one counts.
    current = { eth0: [{ address: "198.51.100.9" }] };
    clock = 1000;
    assert.equal(host.isLocal("198.51.100.9"), false);
    clock = 1001;
    assert.equal(host.isLocal("198.51.100.9"), true);
    assert.equal(host.isLocal("192.0.2.2"), false);
    assert.equal(readings, 2);
    assert.equal(host.isLocal("not an address"), false);
    assert.throws(() => createHostAddresses({ maxAgeMs: -1 }), TypeError);
  });

  void it("knows this machine's own interface addresses", () => {
    const host = createHostAddresses();
    for (const item of Object.values(networkInterfaces()).flat()) {
      if (item !== undefined) assert.equal(host.isLocal(item.address), true, item.address);
    }
  });
});
