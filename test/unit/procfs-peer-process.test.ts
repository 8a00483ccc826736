/**
 * The Linux resolver of protection rule 3: from a connection's two ends to the processes holding
 * the client's socket. First against a fake procfs (the TCP table fallback and the descriptor
 * scan), then against real processes on this machine, with and without netlink.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { decodeProcAddress } from "../../agent/caller/proc-net-tcp.js";
import {
  createProcfsPeerResolver,
  type ProcfsPeerResolverOptions,
} from "../../agent/caller/procfs-peer-process.js";
import { sockDiagLookup, type ExactSocketLookup } from "../../agent/caller/sock-diag.js";
import { PROC_NET_TCP as TCP, PROC_NET_TCP6 as TCP6 } from "../fixtures/proc-net-tcp.js";

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
    // Entries a real /proc has that are not processes, and a process that has just exited.
    await mkdir(join(root, "self"));
    await mkdir(join(root, "sys"));
    await mkdir(join(root, "7"));
    return root;
  }

  const local = { address: "::", port: 43427 };
  const peer = { address: "127.0.0.1", port: 40864 };
  const onlyIfLittleEndian = { skip: decodeProcAddress("0100007F") !== "127.0.0.1" };

  void it(
    "finds the process holding the client's socket, however the addresses are spelled",
    onlyIfLittleEndian,
    async (t) => {
      const procRoot = await fakeProc(t, {
        tcp: TCP,
        tcp6: TCP6,
        sockets: { 300: ["/dev/null", "pipe:[77]"], 4242: ["/dev/pts/0", "socket:[5970]"] },
      });
      const resolve = createProcfsPeerResolver({ procRoot });
      assert.deepEqual(await resolve({ ...peer, address: "::ffff:127.0.0.1" }, local), [4242]);
      assert.deepEqual(await resolve(peer, local), [4242]);
      assert.deepEqual(await resolve(peer, { address: "127.0.0.1", port: 43427 }), [4242]);
      assert.deepEqual(await resolve(peer, { address: "::ffff:127.0.0.1", port: 43427 }), [4242]);
      // Any wildcard listener address matches by port alone.
      for (const wildcard of ["0.0.0.0", "::ffff:0.0.0.0", "0:0:0:0:0:0:0:0"]) {
        assert.deepEqual(await resolve(peer, { address: wildcard, port: 43427 }), [4242], wildcard);
      }
    },
  );

  void it(
    "matches a plain IPv4 peer to an IPv4-mapped entry of tcp6",
    onlyIfLittleEndian,
    async (t) => {
      // The same connection seen from the other side: here the client is the tcp6 socket.
      const procRoot = await fakeProc(t, {
        tcp: "",
        tcp6: TCP6,
        sockets: { 55: ["socket:[5971]"] },
      });
      const resolve = createProcfsPeerResolver({ procRoot });
      const server = { address: "127.0.0.1", port: 40864 };
      assert.deepEqual(await resolve({ address: "127.0.0.1", port: 43427 }, server), [55]);
    },
  );

  void it(
    "answers every process that holds the socket, not only one",
    onlyIfLittleEndian,
    async (t) => {
      const procRoot = await fakeProc(t, {
        tcp: TCP,
        sockets: {
          900: ["socket:[5970]"],
          12: ["pipe:[1]", "socket:[5970]"],
          1000: ["socket:[1]"],
        },
      });
      const resolve = createProcfsPeerResolver({ procRoot });
      assert.deepEqual(
        (await resolve(peer, local)).sort((a, b) => a - b),
        [12, 900],
      );
    },
  );

  void it(
    "finds nothing for a wrong port, address or direction, a closed socket or a listener",
    onlyIfLittleEndian,
    async (t) => {
      const procRoot = await fakeProc(t, {
        tcp: TCP,
        tcp6: TCP6,
        sockets: {
          4242: ["socket:[5970]", "socket:[5971]", "socket:[0]", "socket:[1595]"],
        },
      });
      const resolve = createProcfsPeerResolver({ procRoot });
      assert.deepEqual(await resolve({ ...peer, port: 40867 }, local), []);
      assert.deepEqual(await resolve(peer, { address: "127.0.0.1", port: 43428 }), []);
      assert.deepEqual(await resolve(peer, { address: "127.0.0.2", port: 43427 }), []);
      assert.deepEqual(await resolve({ ...peer, address: "127.0.0.3" }, local), []);
      // TIME_WAIT: no process holds it any more (inode 0).
      assert.deepEqual(await resolve({ ...peer, port: 40865 }, local), []);
      // In the table, held by nobody readable.
      assert.deepEqual(await resolve({ ...peer, port: 40866 }, local), []);
      // The listener is not a connection.
      await assert.rejects(
        resolve({ address: "0.0.0.0", port: 2024 }, { address: "::", port: 0 }),
        RangeError,
      );
      assert.deepEqual(
        await resolve({ address: "0.0.0.0", port: 2024 }, { address: "::", port: 1 }),
        [],
      );
    },
  );

  void it(
    "fails, not answers nobody, when procfs cannot be read",
    onlyIfLittleEndian,
    async (t) => {
      const missing = createProcfsPeerResolver({
        procRoot: join(tmpdir(), "wmsfleet-no-such-proc"),
      });
      await assert.rejects(missing(peer, local), /ENOENT/);
      const procRoot = await fakeProc(t, { tcp: TCP, sockets: { 4242: ["socket:[5971]"] } });
      assert.deepEqual(await createProcfsPeerResolver({ procRoot })(peer, local), []);
    },
  );
});

void describe(
  "createProcfsPeerResolver on this machine",
  { skip: process.platform !== "linux" },
  () => {
    // The child connects, says so, and keeps the connection open until it is killed. With
    // "share", it also starts a grandchild that inherits the socket as its descriptor 3, prints
    // its pid, and closes its own copy when told "close" on its standard input.
    const CHILD = [
      "const [host, port, localAddress, share] = process.argv.slice(1);",
      "const net = require('node:net');",
      "const socket = net.connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) });",
      "socket.on('error', (error) => { console.error(error.message); process.exit(1); });",
      "socket.on('connect', () => {",
      "  if (share !== 'share') return console.log('ready');",
      "  const holder = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: ['ignore', 'ignore', 'inherit', socket] });",
      "  console.log('ready ' + holder.pid);",
      "  process.stdin.on('data', () => { socket.destroy(); console.log('closed'); });",
      "  process.on('SIGTERM', () => { holder.kill(); process.exit(0); });",
      "});",
    ].join("\n");

    interface Connected {
      readonly child: ChildProcess;
      readonly server: Server;
      readonly accepted: Socket;
      /** The grandchild that shares the socket (with `share`). */
      readonly holderPid: number | undefined;
      /** Resolves once the next line matching `pattern` arrives from the child. */
      readonly line: (pattern: RegExp) => Promise<string>;
    }

    async function connectChild(
      t: TestContext,
      listenHost: string,
      connectHost: string,
      { localAddress = "", share = false }: { localAddress?: string; share?: boolean } = {},
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
        ["-e", CHILD, connectHost, String(port), localAddress, share ? "share" : ""],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      const exited = once(child, "exit");
      t.after(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill();
        await exited;
      });
      let output = "";
      const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk;
        for (const waiter of [...waiting]) {
          const match = waiter.pattern.exec(output);
          if (match !== null) {
            output = output.slice(match.index + match[0].length);
            waiting.splice(waiting.indexOf(waiter), 1);
            waiter.resolve(match[0]);
          }
        }
      });
      const line = (pattern: RegExp) =>
        new Promise<string>((resolve, reject) => {
          waiting.push({ pattern, resolve });
          child.once("exit", (code) =>
            reject(new Error(`child exited (${code}) before ${pattern}`)),
          );
        });
      const ready = await line(/ready ?(\d*)\n/);
      const [socket] = await accepted;
      const holder = /ready (\d+)/.exec(ready)?.[1];
      return {
        child,
        server,
        accepted: socket,
        holderPid: holder === undefined ? undefined : Number(holder),
        line,
      };
    }

    function peerOf(socket: Socket): { address: string; port: number } {
      assert.ok(socket.remoteAddress !== undefined && socket.remotePort !== undefined);
      return { address: socket.remoteAddress, port: socket.remotePort };
    }

    async function canListen(host: string): Promise<boolean> {
      const probe = createServer();
      return new Promise((resolve) => {
        probe.once("error", () => resolve(false));
        probe.listen(0, host, () => probe.close(() => resolve(true)));
      });
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
        assert.deepEqual(await resolve(peerOf(accepted), local), [child.pid]);
        // The other end of the same connection is this test's own socket.
        assert.deepEqual(await resolve(local, peerOf(accepted)), [process.pid]);
      });

      void it(`${mode}: resolves a child process connected over IPv6 ::1`, async (t) => {
        if (!(await canListen("::1"))) return t.skip("this machine has no IPv6 loopback (::1)");
        const { child, server, accepted } = await connectChild(t, "::1", "::1");
        assert.equal(accepted.remoteAddress, "::1");
        const local = server.address() as AddressInfo;
        assert.deepEqual(await createProcfsPeerResolver(options)(peerOf(accepted), local), [
          child.pid,
        ]);
      });

      void it(`${mode}: resolves an IPv4 client of a dual-stack server, seen as ::ffff:127.0.0.1`, async (t) => {
        const { child, server, accepted } = await connectChild(t, "::", "127.0.0.1");
        assert.equal(accepted.remoteAddress, "::ffff:127.0.0.1");
        const resolve = createProcfsPeerResolver(options);
        const listening = server.address() as AddressInfo;
        assert.equal(listening.address, "::");
        assert.deepEqual(await resolve(peerOf(accepted), listening), [child.pid]);
        const exact = { address: accepted.localAddress ?? "", port: accepted.localPort ?? 0 };
        assert.deepEqual(await resolve(peerOf(accepted), exact), [child.pid]);
      });

      void it(`${mode}: resolves a child connected to this host's own non-loopback addresses`, async (t) => {
        const addresses = Object.entries(networkInterfaces()).flatMap(([name, list]) =>
          (list ?? [])
            .filter((item) => !item.internal)
            .map((item) =>
              item.family === "IPv6" && item.address.startsWith("fe80:")
                ? `${item.address}%${name}`
                : item.address,
            ),
        );
        if (addresses.length === 0) return t.skip("this machine has no non-loopback address");
        for (const address of addresses) {
          const { child, server, accepted } = await connectChild(t, address, address);
          const resolve = createProcfsPeerResolver(options);
          const { port } = server.address() as AddressInfo;
          assert.deepEqual(
            await resolve(peerOf(accepted), { address: "::", port }),
            [child.pid],
            address,
          );
          const exact = { address: accepted.localAddress ?? "", port };
          assert.deepEqual(await resolve(peerOf(accepted), exact), [child.pid], address);
          child.kill();
          await once(child, "exit");
        }
      });

      void it(`${mode}: answers nobody once the client process has exited`, async (t) => {
        const { child, server, accepted } = await connectChild(t, "127.0.0.1", "127.0.0.1");
        const local = server.address() as AddressInfo;
        const peer = peerOf(accepted);
        child.kill("SIGKILL");
        await once(child, "exit");
        // The kernel closed the client's socket when the process died: no one holds it.
        assert.deepEqual(await createProcfsPeerResolver(options)(peer, local), []);
      });

      void it(`${mode}: a socket shared with a child resolves to both, then to the one that kept it`, async (t) => {
        const connected = await connectChild(t, "127.0.0.1", "127.0.0.1", { share: true });
        const { child, server, accepted, holderPid } = connected;
        assert.ok(holderPid !== undefined && child.pid !== undefined);
        const local = server.address() as AddressInfo;
        const resolve = createProcfsPeerResolver(options);
        const byPid = (pids: number[]) => pids.sort((a, b) => a - b);
        assert.deepEqual(
          byPid(await resolve(peerOf(accepted), local)),
          byPid([child.pid, holderPid]),
        );
        // The parent closes its copy (fork, then close): the child is the only holder.
        const closed = connected.line(/closed\n/);
        child.stdin?.write("close\n");
        await closed;
        assert.deepEqual(await resolve(peerOf(accepted), local), [holderPid]);
      });
    }

    void it("falls back to the TCP tables when the client is not at the address the kernel is asked for", async (t) => {
      // Bound to 127.0.0.2, connected to 127.0.0.1: the exact lookup tries 127.0.0.2 at both ends.
      const { child, server, accepted } = await connectChild(t, "127.0.0.1", "127.0.0.1", {
        localAddress: "127.0.0.2",
      });
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
      assert.deepEqual(await resolve(peerOf(accepted), wildcard), [child.pid]);
      assert.equal(answered, 0, "the kernel knew no such 4-tuple");
      // Told the agent's own address, the kernel finds it.
      const exact = { address: "127.0.0.1", port: wildcard.port };
      assert.deepEqual(await resolve(peerOf(accepted), exact), [child.pid]);
      assert.equal(answered, real === undefined ? 0 : 1);
    });
  },
);
