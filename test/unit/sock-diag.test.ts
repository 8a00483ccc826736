import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import type { TcpEndpoint } from "../../common/ip-address.js";
import { sameAddress } from "../../common/ip-address.js";
import { parseProcNetTcp } from "../../agent/caller/proc-net-tcp.js";
import { sockDiagLookup } from "../../agent/caller/sock-diag.js";

/** A server on `host` and a client connected to it from this process. */
async function connection(t: TestContext, host: string) {
  const server: Server = createServer();
  const accepted: Socket[] = [];
  server.on("connection", (socket) => accepted.push(socket));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const client = connect((server.address() as AddressInfo).port, host);
  await once(client, "connect");
  t.after(async () => {
    client.destroy();
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    local: { address: client.localAddress ?? "", port: client.localPort ?? 0 },
    remote: { address: client.remoteAddress ?? "", port: client.remotePort ?? 0 },
  };
}

/**
 * The inode `/proc/net/tcp{,6}` gives the socket with this exact 4-tuple (the other path). The
 * whole 4-tuple: other processes' sockets may share the local port (with another remote end).
 */
async function inodeFromTables(
  local: TcpEndpoint,
  remote: TcpEndpoint,
): Promise<number | undefined> {
  for (const table of ["tcp", "tcp6"]) {
    const text = await readFile(`/proc/net/${table}`, "latin1").catch(() => "");
    const entry = parseProcNetTcp(text).find(
      (e) =>
        e.local.port === local.port &&
        e.remote.port === remote.port &&
        sameAddress(e.local.address, local.address) &&
        sameAddress(e.remote.address, remote.address),
    );
    if (entry !== undefined) return entry.inode;
  }
  return undefined;
}

async function ipv6Loopback(): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(0, "::1", () => probe.close(() => resolve(true)));
  });
}

void describe("sockDiagLookup (netlink)", { skip: process.platform !== "linux" }, () => {
  void it("finds a loopback client's socket by its 4-tuple, as the TCP table lists it", async (t) => {
    const lookup = await sockDiagLookup();
    assert.ok(lookup !== undefined, "netlink sock_diag is available on this Linux machine");
    const { local, remote } = await connection(t, "127.0.0.1");
    const found = lookup(local, remote);
    assert.ok(found !== undefined);
    assert.equal(found.inode, await inodeFromTables(local, remote));
    assert.equal(found.state, 1, "ESTABLISHED");
    assert.equal(found.uid, process.getuid?.());
    // The same pair written as IPv4-mapped IPv6 (how a dual-stack agent sees the peer).
    const mapped = (e: { address: string; port: number }) => ({
      ...e,
      address: `::ffff:${e.address}`,
    });
    assert.deepEqual(lookup(mapped(local), mapped(remote)), found);
    // The server's end is another socket.
    const serverEnd = lookup(remote, local);
    assert.ok(serverEnd !== undefined && serverEnd.inode !== found.inode);
  });

  void it("finds an IPv6 ::1 connection", async (t) => {
    if (!(await ipv6Loopback())) return t.skip("this machine has no IPv6 loopback (::1)");
    const lookup = await sockDiagLookup();
    assert.ok(lookup !== undefined);
    const { local, remote } = await connection(t, "::1");
    const found = lookup(local, remote);
    assert.ok(found !== undefined);
    assert.equal(found.inode, await inodeFromTables(local, remote));
    const expanded = { ...local, address: "0:0:0:0:0:0:0:1" };
    assert.deepEqual(lookup(expanded, remote), found);
  });

  void it("answers nothing for a 4-tuple nobody has, or for what is not an address", async (t) => {
    const lookup = await sockDiagLookup();
    assert.ok(lookup !== undefined);
    const { local, remote } = await connection(t, "127.0.0.1");
    assert.equal(lookup({ ...local, address: "127.0.0.2" }, remote), undefined);
    assert.equal(lookup(local, { ...remote, port: remote.port === 1 ? 2 : 1 }), undefined);
    for (const address of ["localhost", "", "1.2.3", "::1::2", "fe80::1%lo", "12345::1"]) {
      assert.equal(lookup({ ...local, address }, remote), undefined, address);
    }
    assert.equal(lookup(local, { ...remote, address: "::1" }), undefined, "mixed families");
    // And still answers afterwards.
    assert.ok(lookup(local, remote) !== undefined);
  });
});
