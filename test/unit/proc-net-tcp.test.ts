import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeProcAddress,
  parseProcNetTcp,
  TCP_ESTABLISHED,
} from "../../agent/caller/proc-net-tcp.js";
import { PROC_NET_TCP as TCP, PROC_NET_TCP6 as TCP6 } from "../fixtures/proc-net-tcp.js";

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
