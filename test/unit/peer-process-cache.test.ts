/**
 * The procfs resolver remembers each connection's holder: a call on a known connection costs one
 * readlink, and a port reused by another process never inherits the old answer.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { createProcfsPeerResolver, decodeProcAddress } from "../../agent/caller/peer-process.js";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
/** A client socket 127.0.0.1:40864 → 127.0.0.1:43427, established, with this inode. */
const tcpWith = (inode: number) =>
  `${HEADER}   1: 0100007F:9FA0 0100007F:A9A3 01 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 2 0000000032d52c32 20 0 0 10 -1\n`;

const peer = { address: "127.0.0.1", port: 40864 };
const local = { address: "::", port: 43427 };
const onlyIfLittleEndian = { skip: decodeProcAddress("0100007F") !== "127.0.0.1" };

async function fakeProc(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "wmsfleet-proc-cache-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, "net"));
  return root;
}

async function holds(root: string, pid: number, fd: number, link: string): Promise<void> {
  await mkdir(join(root, String(pid), "fd"), { recursive: true });
  await symlink(link, join(root, String(pid), "fd", String(fd)));
}

void describe("createProcfsPeerResolver: remembered connections", () => {
  void it(
    "answers a known connection without reading the TCP tables again",
    onlyIfLittleEndian,
    async (t) => {
      const root = await fakeProc(t);
      await writeFile(join(root, "net", "tcp"), tcpWith(5970));
      await holds(root, 4242, 9, "socket:[5970]");
      const resolve = createProcfsPeerResolver({ procRoot: root });
      assert.equal(await resolve(peer, local), 4242);
      // Were the tables read again, the connection would be gone.
      await unlink(join(root, "net", "tcp"));
      assert.equal(await resolve(peer, local), 4242);
    },
  );

  void it(
    "does not give a reused port the answer of the process that held it before",
    onlyIfLittleEndian,
    async (t) => {
      const root = await fakeProc(t);
      await writeFile(join(root, "net", "tcp"), tcpWith(5970));
      await holds(root, 4242, 9, "socket:[5970]");
      const resolve = createProcfsPeerResolver({ procRoot: root });
      assert.equal(await resolve(peer, local), 4242);
      // 4242 closed its connection; process 5000 connected from the same port: a new socket.
      await unlink(join(root, "4242", "fd", "9"));
      await writeFile(join(root, "net", "tcp"), tcpWith(6100));
      await holds(root, 5000, 3, "socket:[6100]");
      assert.equal(await resolve(peer, local), 5000);
    },
  );

  void it(
    "searches again when the descriptor now holds another socket, or nothing",
    onlyIfLittleEndian,
    async (t) => {
      const root = await fakeProc(t);
      await writeFile(join(root, "net", "tcp"), tcpWith(5970));
      await holds(root, 4242, 9, "socket:[5970]");
      const resolve = createProcfsPeerResolver({ procRoot: root });
      assert.equal(await resolve(peer, local), 4242);
      // Same process, same descriptor number, a different socket (the old one was closed).
      await unlink(join(root, "4242", "fd", "9"));
      await holds(root, 4242, 9, "socket:[7000]");
      await writeFile(join(root, "net", "tcp"), tcpWith(7001));
      assert.equal(await resolve(peer, local), undefined);
      await holds(root, 31, 4, "socket:[7001]");
      assert.equal(await resolve(peer, local), 31);
    },
  );

  void it(
    "answers connections searched for together, each with its own holder",
    onlyIfLittleEndian,
    async (t) => {
      const root = await fakeProc(t);
      const line = (port: number, inode: number) =>
        `   ${port}: 0100007F:${port.toString(16).toUpperCase().padStart(4, "0")} 0100007F:A9A3 01 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 2 0 20 0 0 10 -1\n`;
      const ports = [41001, 41002, 41003, 41004];
      await writeFile(
        join(root, "net", "tcp"),
        HEADER + ports.map((port, i) => line(port, 900 + i)).join(""),
      );
      await holds(root, 10, 3, "socket:[900]");
      await holds(root, 20, 3, "socket:[901]");
      await holds(root, 20, 4, "socket:[902]");
      // 903 is in the table but no readable process holds it.
      const resolve = createProcfsPeerResolver({ procRoot: root });
      const found = await Promise.all(ports.map((port) => resolve({ ...peer, port }, local)));
      assert.deepEqual(found, [10, 20, 20, undefined]);
      // The same calls again, also together, on the same connections.
      const again = await Promise.all(ports.map((port) => resolve({ ...peer, port }, local)));
      assert.deepEqual(again, [10, 20, 20, undefined]);
    },
  );

  void it("forgets the oldest connections beyond its bound", onlyIfLittleEndian, async (t) => {
    const root = await fakeProc(t);
    const line = (port: number, inode: number) =>
      `   ${port}: 0100007F:${port.toString(16).toUpperCase().padStart(4, "0")} 0100007F:A9A3 01 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 2 0 20 0 0 10 -1\n`;
    await writeFile(join(root, "net", "tcp"), HEADER + line(40001, 801) + line(40002, 802));
    await holds(root, 77, 5, "socket:[801]");
    await holds(root, 77, 6, "socket:[802]");
    const resolve = createProcfsPeerResolver({ procRoot: root, maxRememberedConnections: 1 });
    assert.equal(await resolve({ ...peer, port: 40001 }, local), 77);
    assert.equal(await resolve({ ...peer, port: 40002 }, local), 77);
    // 40001 was forgotten: it is searched again, so it needs the tables.
    await unlink(join(root, "net", "tcp"));
    assert.equal(await resolve({ ...peer, port: 40002 }, local), 77);
    assert.equal(await resolve({ ...peer, port: 40001 }, local), undefined);
  });
});

void describe(
  "createProcfsPeerResolver: a port reused by another real process",
  { skip: process.platform !== "linux" },
  () => {
    const CHILD = [
      "const net = require('node:net');",
      "const socket = net.connect({ port: Number(process.argv[1]), host: '127.0.0.1', localAddress: '127.0.0.1', localPort: Number(process.argv[2]) });",
      "socket.on('connect', () => console.log('ready ' + socket.localPort));",
      "socket.on('end', () => socket.end());",
      "socket.on('error', (error) => { console.error(error.message); process.exit(1); });",
    ].join("\n");

    function connect(t: TestContext, port: number, localPort: number) {
      const child = spawn(process.execPath, ["-e", CHILD, String(port), String(localPort)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = once(child, "exit");
      t.after(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await exited;
      });
      return new Promise<{ child: ChildProcess; localPort: number }>((resolve, reject) => {
        let output = "";
        child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
          output += chunk;
          const match = /ready (\d+)\n/.exec(output);
          if (match !== null) resolve({ child, localPort: Number(match[1]) });
        });
        child.once("exit", (code) => reject(new Error(`child exited (${code}) before connecting`)));
      });
    }

    void it("answers the new process, not the one remembered", async (t) => {
      const server = createServer();
      const accepted: Socket[] = [];
      server.on("connection", (socket) => accepted.push(socket));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      t.after(async () => {
        for (const socket of accepted) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
      const { port } = server.address() as AddressInfo;
      const listening = { address: "127.0.0.1", port };
      const resolve = createProcfsPeerResolver();

      const first = await connect(t, port, 0);
      while (accepted.length < 1) await new Promise((r) => setImmediate(r));
      const firstPeer = { address: "127.0.0.1", port: first.localPort };
      assert.equal(await resolve(firstPeer, listening), first.child.pid);

      // The server closes first (its side keeps TIME_WAIT), so the client's port is free at once.
      const closed = once(accepted[0] as Socket, "close");
      (accepted[0] as Socket).end();
      await closed;
      first.child.kill("SIGKILL");
      await once(first.child, "exit");

      const second = await connect(t, port, first.localPort).catch((error: unknown) => {
        t.skip(`the port could not be reused at once here: ${String(error)}`);
        return undefined;
      });
      if (second === undefined) return;
      assert.equal(second.localPort, first.localPort);
      while (accepted.length < 2) await new Promise((r) => setImmediate(r));
      assert.notEqual(second.child.pid, first.child.pid);
      assert.equal(await resolve(firstPeer, listening), second.child.pid);
    });
  },
);
