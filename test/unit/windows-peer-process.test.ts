/**
 * The Windows resolver of protection rule 3, on any platform: `GetExtendedTcpTable`'s tables
 * decoded from bytes laid out as Windows lays them out. The calls themselves run under Wine
 * (`test/wine/harness.ts`).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AF_INET, AF_INET6, parseTcpTable } from "../../agent/caller/windows-peer-process.js";

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
