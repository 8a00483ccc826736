/**
 * The pure parts of the `wts` backend, on any platform: Win32 structures decoded from bytes laid
 * out as Windows lays them out, address spelling, FILETIMEs, and the refusal to load off Windows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import {
  WTSINFOW_SIZE,
  canonicalAddress,
  createWtsBackend,
  decodeUtf16Fixed,
  filetimeToDate,
  idleTimeMs,
  parseTcpTable,
  parseWtsInfo,
  sessionStateFromWts,
} from "../../agent/backends/wts.js";

const FILETIME_1970 = 116444736000000000n;

function utf16(text: string, chars: number): Buffer {
  const bytes = Buffer.alloc(chars * 2);
  bytes.write(text, "utf16le");
  return bytes;
}

void describe("wts backend off Windows", () => {
  void it("refuses to start with a message that names the alternative", async (t) => {
    if (process.platform === "win32") return t.skip("this is Windows");
    await assert.rejects(createWtsBackend(), {
      message: "the wts backend needs Windows; use --backend simulated",
    });
  });
});

void describe("sessionStateFromWts", () => {
  void it("maps WTS_CONNECTSTATE_CLASS 0..9 to the wire enum, which is one more", () => {
    assert.equal(sessionStateFromWts(0), SessionState.ACTIVE);
    assert.equal(sessionStateFromWts(4), SessionState.DISCONNECTED);
    assert.equal(sessionStateFromWts(6), SessionState.LISTEN);
    assert.equal(sessionStateFromWts(9), SessionState.INIT);
  });

  void it("reports values outside the enumeration as UNRECOGNIZED", () => {
    for (const state of [-1, 10, 1.5, Number.NaN]) {
      assert.equal(sessionStateFromWts(state), SessionState.UNRECOGNIZED);
    }
  });
});

void describe("decodeUtf16Fixed", () => {
  void it("stops at the first NUL", () => {
    assert.equal(decodeUtf16Fixed(utf16("Józef", 21)), "Józef");
  });

  void it("takes the whole array when no NUL ends it", () => {
    assert.equal(decodeUtf16Fixed(utf16("abcd", 4)), "abcd");
  });

  void it("keeps surrogate pairs whole", () => {
    assert.equal(decodeUtf16Fixed(utf16("😀PC", 10)), "😀PC");
  });
});

void describe("parseWtsInfo", () => {
  void it("reads names and times at the x64 offsets of WTSINFOW", () => {
    const bytes = Buffer.alloc(WTSINFOW_SIZE);
    bytes.writeInt32LE(4, 0);
    bytes.writeUInt32LE(5, 4);
    utf16("RDP-Tcp#5", 32).copy(bytes, 32);
    utf16("ŁÓDŹ", 17).copy(bytes, 96);
    utf16("abcdefghijklmnopqrst", 21).copy(bytes, 130);
    bytes.writeBigInt64LE(111n, 176 + 16);
    bytes.writeBigInt64LE(222n, 176 + 24);
    bytes.writeBigInt64LE(333n, 176 + 32);
    assert.deepEqual(parseWtsInfo(bytes), {
      state: 4,
      sessionId: 5,
      winStationName: "RDP-Tcp#5",
      domainName: "ŁÓDŹ",
      userName: "abcdefghijklmnopqrst",
      lastInputTime: 111n,
      logonTime: 222n,
      currentTime: 333n,
    });
  });

  void it("refuses a short buffer", () => {
    assert.throws(() => parseWtsInfo(Buffer.alloc(WTSINFOW_SIZE - 1)), RangeError);
  });
});

void describe("FILETIMEs", () => {
  void it("turns a FILETIME into a Date, and 0 into undefined", () => {
    const logon = FILETIME_1970 + BigInt(Date.parse("2026-11-24T08:00:00Z")) * 10000n;
    assert.equal(filetimeToDate(logon)?.toISOString(), "2026-11-24T08:00:00.000Z");
    assert.equal(filetimeToDate(0n), undefined);
  });

  void it("measures idle time in milliseconds, undefined when the last input is unknown", () => {
    assert.equal(idleTimeMs(1_000_000_000n, 1_000_000_000n + 90n * 10_000_000n), 90_000);
    assert.equal(idleTimeMs(0n, 1_000n), undefined);
    assert.equal(idleTimeMs(2_000n, 1_000n), 0);
  });
});

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
    assert.deepEqual(parseTcpTable(table, 2), [
      {
        localAddress: "127.0.0.1",
        localPort: 41873,
        remoteAddress: "0.0.0.0",
        remotePort: 0,
        pid: 32,
      },
      {
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
    const [parsed] = parseTcpTable(table, 23);
    assert.ok(parsed !== undefined);
    assert.equal(canonicalAddress(parsed.localAddress), "::1");
    assert.equal(parsed.localPort, 50061);
    assert.equal(canonicalAddress(parsed.remoteAddress), "127.0.0.1");
    assert.equal(parsed.remotePort, 40000);
    assert.equal(parsed.pid, 4242);
  });

  void it("never reads past the buffer, whatever the row count says", () => {
    const table = Buffer.from("ff000000" + "00".repeat(24), "hex");
    assert.equal(parseTcpTable(table, 2).length, 1);
    assert.deepEqual(parseTcpTable(Buffer.alloc(2), 23), []);
  });
});

void describe("canonicalAddress", () => {
  void it("spells an IPv4-mapped IPv6 address as IPv4", () => {
    assert.equal(canonicalAddress("::ffff:127.0.0.1"), "127.0.0.1");
    assert.equal(canonicalAddress("::FFFF:7f00:1"), "127.0.0.1");
    assert.equal(canonicalAddress("0:0:0:0:0:ffff:7f00:1"), "127.0.0.1");
  });

  void it("compresses IPv6 and drops brackets and zones", () => {
    assert.equal(canonicalAddress("0:0:0:0:0:0:0:1"), "::1");
    assert.equal(canonicalAddress("[::1]"), "::1");
    assert.equal(canonicalAddress("fe80:0:0:0:0:0:0:1%4"), "fe80::1");
  });

  void it("leaves IPv4 as it is", () => {
    assert.equal(canonicalAddress("127.0.0.1"), "127.0.0.1");
  });
});
