/**
 * The pure parts of the `wts` backend, on any platform: Win32 structures decoded from bytes laid
 * out as Windows lays them out, FILETIMEs, and the refusal to load off Windows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { WTSINFOW_SIZE } from "../../common/native/wtsapi32.js";
import {
  createWtsBackend,
  decodeUtf16Fixed,
  filetimeToDate,
  idleTimeTrusted,
  isLocked,
  lockFlagReversed,
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

  void it("turns an unknown last input (0) into undefined, as the backend reports it", () => {
    const lastInput = FILETIME_1970 + BigInt(Date.parse("2026-11-24T08:28:30Z")) * 10000n;
    assert.equal(filetimeToDate(lastInput)?.toISOString(), "2026-11-24T08:28:30.000Z");
    assert.equal(filetimeToDate(0n), undefined);
  });
});

void describe("idleTimeTrusted", () => {
  void it("trusts the last input of Remote Desktop sessions with a user, and nothing else", () => {
    assert.equal(idleTimeTrusted(2, "teacher"), true);
    // 0: the console and MultiPoint stations, whose LastInputTime is CurrentTime or 0.
    assert.equal(idleTimeTrusted(0, "teacher"), false);
    assert.equal(idleTimeTrusted(1, "teacher"), false);
    assert.equal(idleTimeTrusted(2, ""), false);
  });
});

void describe("the lock flag (WTSINFOEX_LEVEL1_W SessionFlags)", () => {
  void it("reads 0 as locked and 1 as unlocked, reversed on Windows 7 / Server 2008 R2 (6.1)", () => {
    assert.equal(lockFlagReversed("10.0.20348"), false);
    assert.equal(lockFlagReversed("6.3.9600"), false);
    assert.equal(lockFlagReversed("6.1.7601"), true);
    assert.equal(isLocked(0, false), true);
    assert.equal(isLocked(1, false), false);
    assert.equal(isLocked(0, true), false);
    assert.equal(isLocked(1, true), true);
  });

  void it("treats WTS_SESSIONSTATE_UNKNOWN (-1) as not locked", () => {
    assert.equal(isLocked(-1, false), false);
    assert.equal(isLocked(-1, true), false);
  });
});
