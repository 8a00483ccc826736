/**
 * The Windows resolver of protection rule 3, on any platform: `GetExtendedTcpTable`'s tables
 * decoded from bytes laid out as Windows lays them out, and the reading loop's answers to each
 * status (the native function replaced by one that answers a script of statuses). The real calls
 * run under Wine (`test/wine/harness.ts`).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AF_INET,
  AF_INET6,
  parseTcpTable,
  readTable,
} from "../../agent/caller/windows-peer-process.js";
import type { NativeFunction } from "../../common/native/koffi.js";

void describe("parseTcpTable", () => {
  void it("decodes MIB_TCPTABLE_OWNER_PID rows (network byte order addresses and ports)", () => {
    // Two rows as Wine returned them: a listener and an established client socket.
    const table = Buffer.from(
      "02000000" +
        "02000000" +
        "7f000001" +
        "a3910000" +
        "00000000" +
        "00000000" +
        "20000000" +
        "05000000" +
        "7f000001" +
        "ada90000" +
        "7f000001" +
        "a3910000" +
        "20000000",
      "hex",
    );
    assert.deepEqual(parseTcpTable(table, AF_INET), [
      {
        state: 2,
        localAddress: "127.0.0.1",
        localPort: 41873,
        remoteAddress: "0.0.0.0",
        remotePort: 0,
        pid: 32,
      },
      {
        state: 5,
        localAddress: "127.0.0.1",
        localPort: 44457,
        remoteAddress: "127.0.0.1",
        remotePort: 41873,
        pid: 32,
      },
    ]);
  });

  void it("decodes MIB_TCP6TABLE_OWNER_PID rows", () => {
    const row = Buffer.alloc(56);
    row[15] = 1; // ::1
    row.writeUInt16BE(50061, 20);
    row[24 + 10] = 0xff;
    row[24 + 11] = 0xff;
    Buffer.from([127, 0, 0, 1]).copy(row, 24 + 12); // ::ffff:127.0.0.1
    row.writeUInt16BE(40000, 44);
    row.writeUInt32LE(5, 48);
    row.writeUInt32LE(4242, 52);
    const table = Buffer.concat([Buffer.from("01000000", "hex"), row]);
    const [parsed] = parseTcpTable(table, AF_INET6);
    assert.ok(parsed !== undefined);
    assert.equal(parsed.localAddress, "::1");
    assert.equal(parsed.localPort, 50061);
    assert.equal(parsed.remoteAddress, "::ffff:127.0.0.1");
    assert.equal(parsed.state, 5);
    assert.equal(parsed.remotePort, 40000);
    assert.equal(parsed.pid, 4242);
  });

  void it("never reads past the buffer, whatever the row count says", () => {
    const table = Buffer.from("ff000000" + "00".repeat(24), "hex");
    assert.equal(parseTcpTable(table, AF_INET).length, 1);
    assert.deepEqual(parseTcpTable(Buffer.alloc(2), AF_INET6), []);
  });
});

/**
 * A stand-in for koffi's `GetExtendedTcpTable` that answers the given statuses in turn, asking for
 * `grownBytes` when it answers ERROR_INSUFFICIENT_BUFFER (122), and records the buffer sizes it
 * was handed.
 */
function scriptedTable(statuses: readonly number[], grownBytes = 0) {
  const sizes: number[] = [];
  let call = 0;
  const fn = {
    async(
      table: Buffer,
      size: [number],
      _sort: number,
      _family: number,
      _class: number,
      _reserved: number,
      done: (error: unknown, result: number) => void,
    ) {
      sizes.push(table.length);
      const status = statuses[call++] ?? 0;
      if (status === 122) size[0] = grownBytes;
      else if (status === 0) size[0] = 4;
      setImmediate(() => done(null, status));
    },
  };
  return { fn: fn as unknown as NativeFunction, sizes, calls: () => call };
}

void describe("readTable", () => {
  void it("grows the buffer when Windows asks, and rereads a table that changed under the call (Wine's 14)", async () => {
    const script = scriptedTable([14, 122, 8, 0], 200_000);
    const table = await readTable(script.fn, AF_INET);
    assert.equal(table.length, 4);
    assert.equal(script.calls(), 4);
    assert.equal(script.sizes[0], script.sizes[1], "a changed table is reread at the same size");
    assert.ok(script.sizes[2]! >= 200_000, `grown to ${script.sizes[2]} bytes`);
  });

  void it("gives up after eight reads of a table that keeps changing, and says so", async () => {
    const script = scriptedTable(Array<number>(20).fill(14));
    await assert.rejects(readTable(script.fn, AF_INET6), /family 23\) kept changing in 8 reads/);
    assert.equal(script.calls(), 8);
  });

  void it("fails at once on any other Win32 error, naming it", async () => {
    const script = scriptedTable([5]);
    await assert.rejects(readTable(script.fn, AF_INET), /failed with Win32 error 5$/);
    assert.equal(script.calls(), 1);
  });
});
