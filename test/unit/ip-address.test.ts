import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  addressBytes,
  canonicalAddress,
  formatIpv6,
  isLoopbackAddress,
  isMappedIpv4,
  isUnspecifiedAddress,
  parsePeer,
  sameAddress,
} from "../../common/ip-address.js";

void describe("addressBytes", () => {
  void it("maps IPv4 into IPv6 and reads every IPv6 spelling", () => {
    const hex = (text: string) => Buffer.from(addressBytes(text) ?? []).toString("hex");
    assert.equal(hex("127.0.0.1"), "00000000000000000000ffff7f000001");
    assert.equal(hex("::ffff:127.0.0.1"), "00000000000000000000ffff7f000001");
    assert.equal(hex("::FFFF:7f00:1"), "00000000000000000000ffff7f000001");
    assert.equal(hex("0:0:0:0:0:ffff:127.0.0.1"), "00000000000000000000ffff7f000001");
    assert.equal(hex("::1"), "00000000000000000000000000000001");
    assert.equal(hex("::"), "00000000000000000000000000000000");
    assert.equal(hex("2001:DB8::7"), "20010db8000000000000000000000007");
    assert.equal(hex("fe80::1%eth0"), "fe800000000000000000000000000001");
    assert.equal(hex("[::1]"), "00000000000000000000000000000001");
    assert.equal(hex("1:2:3:4:5:6:7:8"), "00010002000300040005000600070008");
    assert.equal(hex("::1.2.3.4"), "00000000000000000000000001020304");
  });

  void it("refuses names and malformed text", () => {
    for (const text of [
      "",
      "localhost",
      "1.2.3",
      "1.2.3.256",
      "::1::2",
      "12345::1",
      "[::1",
      "fe80::1%",
      "x",
    ]) {
      assert.equal(addressBytes(text), undefined, text);
    }
  });
});

void describe("isLoopbackAddress", () => {
  void it("accepts 127.0.0.0/8, ::1 and IPv4-mapped 127/8", () => {
    for (const address of [
      "127.0.0.1",
      "127.1.2.3",
      "127.255.255.254",
      "::1",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
      "::FFFF:127.0.0.2",
      "0:0:0:0:0:ffff:127.0.0.1",
      "[::1]",
    ]) {
      assert.equal(isLoopbackAddress(address), true, address);
    }
  });

  void it("refuses other addresses, names and garbage", () => {
    for (const address of [
      "0.0.0.0",
      "10.0.0.1",
      "128.0.0.1",
      "::",
      "::2",
      "::ffff:10.0.0.1",
      "::ffff:0:127.0.0.1",
      "2001:db8::1",
      "fe80::1",
      "localhost",
      "127.0.0.1.example.com",
      "",
    ]) {
      assert.equal(isLoopbackAddress(address), false, address);
    }
  });
});

void describe("isUnspecifiedAddress", () => {
  void it("knows the wildcard addresses of both families", () => {
    for (const address of ["0.0.0.0", "::", "0:0:0:0:0:0:0:0", "::ffff:0.0.0.0"]) {
      assert.equal(isUnspecifiedAddress(address), true, address);
    }
    for (const address of ["::1", "127.0.0.1", "0.0.0.1", "::ffff:0:1", "x"]) {
      assert.equal(isUnspecifiedAddress(address), false, address);
    }
  });
});

void describe("canonicalAddress and sameAddress", () => {
  void it("writes IPv4 and IPv4-mapped as IPv4, other IPv6 in RFC 5952 form", () => {
    assert.equal(canonicalAddress("::ffff:127.0.0.1"), "127.0.0.1");
    assert.equal(canonicalAddress("::FFFF:7f00:1"), "127.0.0.1");
    assert.equal(canonicalAddress("0:0:0:0:0:ffff:c000:202"), "192.0.2.2");
    assert.equal(canonicalAddress("0:0:0:0:0:0:0:1"), "::1");
    assert.equal(canonicalAddress("[::1]"), "::1");
    assert.equal(canonicalAddress("fe80:0:0:0:0:0:0:1%4"), "fe80::1");
    assert.equal(canonicalAddress("2001:DB8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
    assert.equal(canonicalAddress("FD00::2"), "fd00::2");
    assert.equal(canonicalAddress("127.0.0.1"), "127.0.0.1");
    assert.equal(canonicalAddress("host.example"), undefined);
  });

  void it("compares IPv4 with IPv4-mapped IPv6, and every IPv6 spelling", () => {
    assert.equal(sameAddress("127.0.0.1", "::ffff:127.0.0.1"), true);
    assert.equal(sameAddress("::FFFF:7f00:1", "127.0.0.1"), true);
    assert.equal(sameAddress("::1", "0:0::1"), true);
    assert.equal(sameAddress("fe80::1%eth0", "FE80:0::1"), true);
    assert.equal(sameAddress("127.0.0.1", "127.0.0.2"), false);
    assert.equal(sameAddress("::1", "127.0.0.1"), false);
    assert.equal(sameAddress("bogus", "bogus"), false);
  });
});

void describe("formatIpv6", () => {
  void it("compresses the longest run of zero words, the first of equal runs, never a single word", () => {
    const bytes = (text: string) => addressBytes(text) ?? new Uint8Array(16);
    assert.equal(formatIpv6(bytes("1:0:0:2:0:0:0:3")), "1:0:0:2::3");
    assert.equal(formatIpv6(bytes("1:0:0:2:0:0:3:4")), "1::2:0:0:3:4");
    assert.equal(formatIpv6(bytes("1:0:2:3:4:5:6:7")), "1:0:2:3:4:5:6:7");
    assert.equal(formatIpv6(bytes("::")), "::");
    assert.equal(formatIpv6(bytes("::ffff:10.1.2.3")), "::ffff:10.1.2.3");
    assert.ok(isMappedIpv4(bytes("10.1.2.3")));
    assert.throws(() => formatIpv6(new Uint8Array(4)), RangeError);
  });
});

void describe("parsePeer", () => {
  void it("reads an IPv4 peer", () => {
    assert.deepEqual(parsePeer("127.0.0.1:5000"), { address: "127.0.0.1", port: 5000 });
    assert.deepEqual(parsePeer("192.168.10.4:65535"), { address: "192.168.10.4", port: 65535 });
  });

  void it("reads an unbracketed IPv6 peer by its last colon", () => {
    assert.deepEqual(parsePeer("::1:5000"), { address: "::1", port: 5000 });
    assert.deepEqual(parsePeer("2001:db8::7:443"), { address: "2001:db8::7", port: 443 });
  });

  void it("reads an IPv4-mapped IPv6 peer, as dual-stack servers see IPv4 clients", () => {
    assert.deepEqual(parsePeer("::ffff:127.0.0.1:5000"), {
      address: "::ffff:127.0.0.1",
      port: 5000,
    });
  });

  void it("drops the brackets of a bracketed IPv6 peer", () => {
    assert.deepEqual(parsePeer("[::1]:5000"), { address: "::1", port: 5000 });
    assert.deepEqual(parsePeer("[::ffff:127.0.0.1]:5000"), {
      address: "::ffff:127.0.0.1",
      port: 5000,
    });
    assert.deepEqual(parsePeer("[fe80::1%eth0]:5000"), { address: "fe80::1%eth0", port: 5000 });
  });

  void it("returns undefined for peers that are not TCP endpoints", () => {
    for (const peer of [
      "unknown",
      "",
      ":5000",
      "unix:/run/wms.sock",
      "localhost:5000",
      "127.0.0.1",
      "127.0.0.1:",
      "127.0.0.1:0",
      "127.0.0.1:65536",
      "127.0.0.1:-1",
      "127.0.0.1:5000.5",
      "127.0.0.1:port",
      "127.0.0.1: 5000",
      "[::1]",
      "[::1]:",
      "[127.0.0.1:5000",
      "300.0.0.1:5000",
    ]) {
      assert.equal(parsePeer(peer), undefined, JSON.stringify(peer));
    }
  });
});
