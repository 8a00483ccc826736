import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import {
  createProcfsPeerResolver,
  decodeProcAddress,
  isLoopbackAddress,
  parseProcNetTcp,
  sameAddress,
  TCP_ESTABLISHED,
  type ProcfsPeerResolverOptions,
} from "../../agent/caller/peer-process.js";
import { sockDiagLookup, type ExactSocketLookup } from "../../agent/caller/sock-diag.js";

// Captured from a Linux host: a dual-stack server on port 43427 (A9A3) and a client that reached
// it through 127.0.0.1 from port 40864 (9FA0). The client's socket is in tcp, the server's in tcp6.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1595 1 00000000d4f0b08a 100 0 0 10 0
   1: 0100007F:9FA0 0100007F:A9A3 01 00000000:00000000 00:00000000 00000000  1000        0 5970 2 0000000032d52c32 20 0 0 10 -1
   2: 0100007F:9FA1 0100007F:A9A3 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   3: 0100007F:9FA2 0100007F:A9A3 02 00000000:00000001 01:00000064 00000002     0        0 5980 2 0000000071a3e0b5 100 0 0 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:A9A3 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5969 1 00000000603e7641 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:A9A3 0000000000000000FFFF00000100007F:9FA0 01 00000000:00000000 00:00000000 00000000     0        0 5971 1 00000000ca7afffd 20 0 0 10 -1
   2: 00000000000000000000000001000000:E790 00000000000000000000000001000000:8F19 01 00000000:00000000 00:00000000 00000000     0        0 15102 2 0000000075ca7e08 20 0 0 10 -1
`;

void describe("decodeProcAddress", () => {
  void it("decodes little-endian IPv4 and IPv6 words", () => {
    assert.equal(decodeProcAddress("0100007F", "LE"), "127.0.0.1");
    assert.equal(decodeProcAddress("0101A8C0", "LE"), "192.168.1.1");
    assert.equal(decodeProcAddress("00000000", "LE"), "0.0.0.0");
    assert.equal(decodeProcAddress("00000000000000000000000001000000", "LE"), "::1");
    assert.equal(decodeProcAddress("00000000000000000000000000000000", "LE"), "::");
    assert.equal(decodeProcAddress("B80D0120000000000000000001000000", "LE"), "2001:db8::1");
    assert.equal(
      decodeProcAddress("000080FE00000000FF5A02022C3F84FE", "LE"),
      "fe80::202:5aff:fe84:3f2c",
    );
  });

  void it("shows IPv4-mapped IPv6 addresses dotted", () => {
    assert.equal(decodeProcAddress("0000000000000000FFFF00000100007F", "LE"), "::ffff:127.0.0.1");
  });

  void it("reads big-endian words when told", () => {
    assert.equal(decodeProcAddress("7F000001", "BE"), "127.0.0.1");
    assert.equal(decodeProcAddress("00000000000000000000FFFF7F000001", "BE"), "::ffff:127.0.0.1");
  });

  void it("rejects malformed text", () => {
    for (const hex of ["", "0100007", "0100007G", "0100007F00", "0000000000000000FFFF0000"]) {
      assert.equal(decodeProcAddress(hex, "LE"), undefined, hex);
    }
  });
});

void describe("parseProcNetTcp", () => {
  void it("parses IPv4 lines and skips the header", () => {
    assert.deepEqual(parseProcNetTcp(TCP, "LE"), [
      {
        local: { address: "0.0.0.0", port: 2024 },
        remote: { address: "0.0.0.0", port: 0 },
        state: 10,
        uid: 0,
        inode: 1595,
      },
      {
        local: { address: "127.0.0.1", port: 40864 },
        remote: { address: "127.0.0.1", port: 43427 },
        state: TCP_ESTABLISHED,
        uid: 1000,
        inode: 5970,
      },
      {
        local: { address: "127.0.0.1", port: 40865 },
        remote: { address: "127.0.0.1", port: 43427 },
        state: 6,
        uid: 0,
        inode: 0,
      },
      {
        local: { address: "127.0.0.1", port: 40866 },
        remote: { address: "127.0.0.1", port: 43427 },
        state: 2,
        uid: 0,
        inode: 5980,
      },
    ]);
  });

  void it("parses IPv6 lines, mapped addresses included", () => {
    const entries = parseProcNetTcp(TCP6, "LE");
    assert.equal(entries.length, 3);
    assert.deepEqual(entries[1], {
      local: { address: "::ffff:127.0.0.1", port: 43427 },
      remote: { address: "::ffff:127.0.0.1", port: 40864 },
      state: TCP_ESTABLISHED,
      uid: 0,
      inode: 5971,
    });
    assert.deepEqual(entries[2]?.local, { address: "::1", port: 59280 });
    assert.deepEqual(entries[2]?.remote, { address: "::1", port: 36633 });
  });

  void it("keeps only the wanted local ports when asked, IPv4 and IPv6 alike", () => {
    for (const text of [TCP, TCP6]) {
      const all = parseProcNetTcp(text, "LE");
      const ports = new Set(all.map((entry) => entry.local.port));
      assert.ok(ports.size > 1, "the fixture has several local ports");
      for (const port of ports) {
        assert.deepEqual(
          parseProcNetTcp(text, "LE", new Set([port])),
          all.filter((entry) => entry.local.port === port),
          `port ${port}`,
        );
      }
      assert.deepEqual(parseProcNetTcp(text, "LE", new Set([1])), []);
      assert.deepEqual(parseProcNetTcp(text, "LE", new Set(ports)), all);
    }
  });

  void it("skips malformed lines", () => {
    const text = [
      "   0: 0100007F 0100007F:A9A3 01 00000000:00000000 00:00000000 00000000 0 0 5970 2",
      "   1: 0100007F:9FA0 0100007F:A9A3 XY 00000000:00000000 00:00000000 00000000 0 0 5970 2",
      "   2: 0100007F:9FA0 0100007F:A9A3 01 00000000:00000000 00:00000000 00000000 0 0 x 2",
      "garbage",
      "",
    ].join("\n");
    assert.deepEqual(parseProcNetTcp(text, "LE"), []);
  });
});

void describe("address helpers", () => {
  void it("recognises loopback addresses in every spelling", () => {
    for (const address of [
      "127.0.0.1",
      "127.8.9.10",
      "::1",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
    ]) {
      assert.equal(isLoopbackAddress(address), true, address);
    }
    for (const address of ["10.0.0.1", "::", "0.0.0.0", "::ffff:10.0.0.1", "::2", "fe80::1", "x"]) {
      assert.equal(isLoopbackAddress(address), false, address);
    }
  });

  void it("compares IPv4 with IPv4-mapped IPv6", () => {
    assert.equal(sameAddress("127.0.0.1", "::ffff:127.0.0.1"), true);
    assert.equal(sameAddress("::FFFF:7f00:1", "127.0.0.1"), true);
    assert.equal(sameAddress("::1", "0:0::1"), true);
    assert.equal(sameAddress("127.0.0.1", "127.0.0.2"), false);
    assert.equal(sameAddress("::1", "127.0.0.1"), false);
    assert.equal(sameAddress("bogus", "bogus"), false);
  });
});

void describe("createProcfsPeerResolver with a fake procfs", () => {
  async function fakeProc(
    t: TestContext,
    files: { tcp?: string; tcp6?: string; sockets?: Record<number, string[]> },
  ): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), "wmsfleet-proc-"));
    t.after(() => rm(root, { recursive: true, force: true }));
    await mkdir(join(root, "net"));
    if (files.tcp !== undefined) await writeFile(join(root, "net", "tcp"), files.tcp);
    if (files.tcp6 !== undefined) await writeFile(join(root, "net", "tcp6"), files.tcp6);
    for (const [pid, links] of Object.entries(files.sockets ?? {})) {
      await mkdir(join(root, pid, "fd"), { recursive: true });
      for (const [fd, target] of links.entries()) {
        await symlink(target, join(root, pid, "fd", String(fd)));
      }
    }
    // Entries a real /proc has that are not processes, and a process whose fds are unreadable.
    await mkdir(join(root, "self"));
    await mkdir(join(root, "sys"));
    await mkdir(join(root, "7"));
    return root;
  }

  const local = { address: "::", port: 43427 };
  const onlyIfLittleEndian = { skip: decodeProcAddress("0100007F") !== "127.0.0.1" };

  void it(
    "finds the process holding the client's socket, given the mapped peer",
    onlyIfLittleEndian,
    async (t) => {
      const procRoot = await fakeProc(t, {
        tcp: TCP,
        tcp6: TCP6,
        sockets: { 300: ["/dev/null", "pipe:[77]"], 4242: ["/dev/pts/0", "socket:[5970]"] },
      });
      const resolve = createProcfsPeerResolver({ procRoot });
      assert.equal(await resolve({ address: "::ffff:127.0.0.1", port: 40864 }, local), 4242);
      assert.equal(await resolve({ address: "127.0.0.1", port: 40864 }, local), 4242);
      assert.equal(
        await resolve({ address: "127.0.0.1", port: 40864 }, { address: "127.0.0.1", port: 43427 }),
        4242,
      );
      // Any wildcard listener address matches by port alone.
      for (const wildcard of ["0.0.0.0", "::ffff:0.0.0.0", "0:0:0:0:0:0:0:0"]) {
        const fresh = createProcfsPeerResolver({ procRoot });
        assert.equal(
          await fresh({ address: "127.0.0.1", port: 40864 }, { address: wildcard, port: 43427 }),
          4242,
          wildcard,
        );
      }
    },
  );

  void it(
    "matches a plain IPv4 peer to an IPv4-mapped entry of tcp6",
    onlyIfLittleEndian,
    async (t) => {
      // The same connection seen from the other side: here the client is the tcp6 socket.
      const procRoot = await fakeProc(t, { tcp6: TCP6, sockets: { 55: ["socket:[5971]"] } });
      const resolve = createProcfsPeerResolver({ procRoot });
      const server = { address: "127.0.0.1", port: 40864 };
      assert.equal(await resolve({ address: "127.0.0.1", port: 43427 }, server), 55);
    },
  );

  void it(
    "returns the newest (highest) pid when processes share the socket",
    onlyIfLittleEndian,
    async (t) => {
      const procRoot = await fakeProc(t, {
        tcp: TCP,
        sockets: { 900: ["socket:[5970]"], 12: ["socket:[5970]"], 1000: ["socket:[5970]"] },
      });
      const resolve = createProcfsPeerResolver({ procRoot });
      assert.equal(await resolve({ address: "127.0.0.1", port: 40864 }, local), 1000);
    },
  );

  void it(
    "finds nothing for a wrong port, address, direction or state",
    onlyIfLittleEndian,
    async (t) => {
      const procRoot = await fakeProc(t, {
        tcp: TCP,
        tcp6: TCP6,
        sockets: {
          4242: ["socket:[5970]", "socket:[5971]", "socket:[0]", "socket:[1595]", "socket:[5980]"],
        },
      });
      const resolve = createProcfsPeerResolver({ procRoot });
      const peer = { address: "127.0.0.1", port: 40864 };
      assert.equal(await resolve({ ...peer, port: 40867 }, local), undefined);
      // Still connecting (SYN_SENT): not a call.
      assert.equal(await resolve({ ...peer, port: 40866 }, local), undefined);
      assert.equal(await resolve(peer, { address: "127.0.0.1", port: 43428 }), undefined);
      assert.equal(await resolve(peer, { address: "127.0.0.2", port: 43427 }), undefined);
      assert.equal(await resolve({ ...peer, address: "127.0.0.3" }, local), undefined);
      // TIME_WAIT: no process holds it any more.
      assert.equal(await resolve({ ...peer, port: 40865 }, local), undefined);
      // The listener is not a connection.
      assert.equal(
        await resolve({ address: "0.0.0.0", port: 2024 }, { address: "::", port: 0 }),
        undefined,
      );
    },
  );

  void it("reads nothing for a peer that is not on loopback", async (t) => {
    const remote =
      "   1: 0500000A:9FA0 0100007F:A9A3 01 00000000:00000000 00:00000000 00000000 0 0 5970 2";
    const procRoot = await fakeProc(t, {
      tcp: `header\n${remote}\n`,
      sockets: { 4242: ["socket:[5970]"] },
    });
    const resolve = createProcfsPeerResolver({ procRoot });
    assert.equal(await resolve({ address: "10.0.0.5", port: 40864 }, local), undefined);
    assert.equal(await resolve({ address: "::ffff:10.0.0.5", port: 40864 }, local), undefined);
  });

  void it(
    "finds nothing when procfs is missing or the socket has no holder",
    onlyIfLittleEndian,
    async (t) => {
      const peer = { address: "127.0.0.1", port: 40864 };
      const missing = createProcfsPeerResolver({
        procRoot: join(tmpdir(), "wmsfleet-no-such-proc"),
      });
      assert.equal(await missing(peer, local), undefined);
      const procRoot = await fakeProc(t, { tcp: TCP, sockets: { 4242: ["socket:[5971]"] } });
      assert.equal(await createProcfsPeerResolver({ procRoot })(peer, local), undefined);
    },
  );
});

void describe(
  "createProcfsPeerResolver on this machine",
  { skip: process.platform !== "linux" },
  () => {
    // The child connects, says so, and keeps the connection open until it is killed.
    const CHILD = [
      "const [host, port, localAddress] = process.argv.slice(1);",
      "const socket = require('node:net').connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) });",
      "socket.on('connect', () => console.log('ready'));",
      "socket.on('error', (error) => { console.error(error.message); process.exit(1); });",
    ].join("\n");

    interface Connected {
      readonly child: ChildProcess;
      readonly server: Server;
      readonly accepted: Socket;
    }

    async function connectChild(
      t: TestContext,
      listenHost: string,
      connectHost: string,
      localAddress?: string,
    ): Promise<Connected> {
      const server = createServer();
      const sockets = new Set<Socket>();
      server.on("connection", (socket) => sockets.add(socket));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, listenHost, () => resolve());
      });
      t.after(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
      const accepted = once(server, "connection") as Promise<[Socket]>;
      const { port } = server.address() as AddressInfo;
      const child = spawn(
        process.execPath,
        [
          "-e",
          CHILD,
          connectHost,
          String(port),
          ...(localAddress === undefined ? [] : [localAddress]),
        ],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const exited = once(child, "exit");
      t.after(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill();
        await exited;
      });
      await new Promise<void>((resolve, reject) => {
        let output = "";
        child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
          output += chunk;
          if (output.includes("ready\n")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`child exited (${code}) before connecting`)));
      });
      const [socket] = await accepted;
      return { child, server, accepted: socket };
    }

    function peerOf(socket: Socket): { address: string; port: number } {
      assert.ok(socket.remoteAddress !== undefined && socket.remotePort !== undefined);
      return { address: socket.remoteAddress, port: socket.remotePort };
    }

    const modes: [string, ProcfsPeerResolverOptions][] = [
      ["netlink first", {}],
      ["TCP tables only", { exactLookup: null }],
    ];
    for (const [mode, options] of modes) {
      void it(`${mode}: resolves a child process connected over IPv4`, async (t) => {
        const { child, server, accepted } = await connectChild(t, "127.0.0.1", "127.0.0.1");
        const resolve = createProcfsPeerResolver(options);
        const local = server.address() as AddressInfo;
        assert.equal(await resolve(peerOf(accepted), local), child.pid);
        // The other end of the same connection is this test's own socket.
        assert.equal(await resolve(local, peerOf(accepted)), process.pid);
      });

      void it(`${mode}: resolves a child process connected over IPv6 ::1`, async (t) => {
        const probe = createServer();
        const ipv6 = await new Promise<boolean>((resolve) => {
          probe.once("error", () => resolve(false));
          probe.listen(0, "::1", () => probe.close(() => resolve(true)));
        });
        if (!ipv6) {
          t.skip("this machine has no IPv6 loopback (::1)");
          return;
        }
        const { child, server, accepted } = await connectChild(t, "::1", "::1");
        assert.equal(accepted.remoteAddress, "::1");
        const local = server.address() as AddressInfo;
        assert.equal(await createProcfsPeerResolver(options)(peerOf(accepted), local), child.pid);
      });

      void it(`${mode}: resolves an IPv4 client of a dual-stack server, seen as ::ffff:127.0.0.1`, async (t) => {
        const { child, server, accepted } = await connectChild(t, "::", "127.0.0.1");
        assert.equal(accepted.remoteAddress, "::ffff:127.0.0.1");
        const resolve = createProcfsPeerResolver(options);
        const listening = server.address() as AddressInfo;
        assert.equal(listening.address, "::");
        assert.equal(await resolve(peerOf(accepted), listening), child.pid);
        const exact = { address: accepted.localAddress ?? "", port: accepted.localPort ?? 0 };
        assert.equal(await resolve(peerOf(accepted), exact), child.pid);
      });
    }

    void it("falls back to the TCP tables when the client is not at the address the kernel is asked for", async (t) => {
      // Bound to 127.0.0.2, connected to 127.0.0.1: the exact lookup tries 127.0.0.2 at both ends.
      const { child, server, accepted } = await connectChild(
        t,
        "127.0.0.1",
        "127.0.0.1",
        "127.0.0.2",
      );
      assert.equal(accepted.remoteAddress, "127.0.0.2");
      const real = await sockDiagLookup();
      let answered = 0;
      const counting: ExactSocketLookup = (local, remote) => {
        const found = real?.(local, remote);
        if (found !== undefined) answered++;
        return found;
      };
      const resolve = createProcfsPeerResolver({ exactLookup: counting });
      const wildcard = { address: "::", port: (server.address() as AddressInfo).port };
      assert.equal(await resolve(peerOf(accepted), wildcard), child.pid);
      assert.equal(answered, 0, "the kernel knew no such 4-tuple");
      // Told the agent's own address, the kernel finds it.
      const exact = { address: "127.0.0.1", port: wildcard.port };
      assert.equal(
        await createProcfsPeerResolver({ exactLookup: counting })(peerOf(accepted), exact),
        child.pid,
      );
      assert.equal(answered, real === undefined ? 0 : 1);
    });
  },
);
