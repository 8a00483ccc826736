import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLoopbackAddress, parsePeer } from "../../agent/caller/caller-process.js";

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
      "[::1]",
      "[::1]:",
      "[127.0.0.1:5000",
      "300.0.0.1:5000",
    ]) {
      assert.equal(parsePeer(peer), undefined, JSON.stringify(peer));
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
