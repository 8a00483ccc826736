import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLoopbackIp } from "../../controller/host-name.js";
import {
  TargetError,
  normalizeHostName,
  parseHostPort,
  parseInventory,
  resolveTargets,
} from "../../controller/index.js";

void describe("normalizeHostName", () => {
  void it("lowercases, drops the trailing dot and converts IDN names to ASCII", () => {
    assert.equal(normalizeHostName("H1.Lab.Example.COM."), "h1.lab.example.com");
    assert.equal(
      normalizeHostName("schüler-01.Bücher.example"),
      "xn--schler-01-s9a.xn--bcher-kva.example",
    );
    assert.equal(normalizeHostName("localhost"), "localhost");
  });

  void it("enforces RFC 1123 and the 253/63 limits", () => {
    const label63 = "a".repeat(63);
    assert.equal(normalizeHostName(`${label63}.example`), `${label63}.example`);
    assert.throws(() => normalizeHostName(`${"a".repeat(64)}.example`), /longer than 63/);
    const long = Array.from({ length: 4 }, () => "b".repeat(63)).join(".");
    assert.equal(long.length, 255);
    assert.throws(() => normalizeHostName(long), /at most 253/);
    for (const bad of ["bad_host", "-lead.example", "trail-.example", "a..b", "sp ace", "", "."]) {
      assert.throws(() => normalizeHostName(bad), TargetError, bad);
    }
  });

  void it("refuses IP addresses as names", () => {
    assert.throws(() => normalizeHostName("127.0.0.1"), /is an IP address/);
    assert.throws(() => normalizeHostName("[::1]"), /is an IP address/);
  });
});

void describe("parseHostPort", () => {
  void it("parses names, IPv4 and bracketed IPv6", () => {
    assert.deepEqual(parseHostPort("H1.example:50061", "x"), { host: "h1.example", port: 50061 });
    assert.deepEqual(parseHostPort("127.0.0.2:1", "x"), { host: "127.0.0.2", port: 1 });
    assert.deepEqual(parseHostPort("[::1]:443", "x"), { host: "::1", port: 443 });
  });

  void it("names what is wrong", () => {
    assert.throws(() => parseHostPort("h1", "--resolve"), /--resolve: "h1" is not ADDRESS:PORT/);
    assert.throws(() => parseHostPort("h1:0", "x"), /port 0 is out of 1..65535/);
    assert.throws(() => parseHostPort("h1:99999", "x"), /out of 1..65535/);
    assert.throws(() => parseHostPort("::1:80", "x"), /\[ADDRESS\]:PORT/);
    assert.throws(() => parseHostPort("[nope]:80", "x"), /not an IPv6 address/);
  });
});

void describe("isLoopbackIp", () => {
  void it("knows 127.0.0.0/8, ::1 and IPv4-mapped loopback", () => {
    for (const yes of ["127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
      assert.equal(isLoopbackIp(yes), true, yes);
    }
    for (const no of ["::", "::ffff:10.0.0.1", "localhost", "128.0.0.1"]) {
      assert.equal(isLoopbackIp(no), false, no);
    }
  });
});

void describe("parseInventory", () => {
  void it("reads names, optional addresses and comments", () => {
    const text =
      "# classroom A\nH1.lab.example.com\n\nh2.lab.example.com 127.0.0.1:6000 # moved\r\n";
    assert.deepEqual(parseInventory(text, "lab.txt"), [
      { fqdn: "h1.lab.example.com" },
      { fqdn: "h2.lab.example.com", address: { host: "127.0.0.1", port: 6000 } },
    ]);
  });

  void it("names the file and line of a bad entry, and refuses an empty inventory", () => {
    assert.throws(
      () => parseInventory("ok.example\nbad_name\n", "lab.txt"),
      /^TargetError: lab.txt:2: /,
    );
    assert.throws(
      () => parseInventory("a.example 127.0.0.1:1 extra", "f"),
      /f:1: expected "FQDN \[ADDRESS:PORT\]"/,
    );
    assert.throws(() => parseInventory("a.example nope", "f"), /f:1: "nope" is not ADDRESS:PORT/);
    assert.throws(
      () => parseInventory("# nothing\n\n", "empty.txt"),
      /empty.txt: the inventory names no host/,
    );
  });
});

void describe("resolveTargets", () => {
  void it("defaults to localhost on port 50061", () => {
    assert.deepEqual(resolveTargets({}), [
      { fqdn: "localhost", address: { host: "localhost", port: 50061 }, overridden: false },
    ]);
  });

  void it("merges servers, comma lists and inventories without duplicates, in order", () => {
    const targets = resolveTargets({
      servers: ["h2.example,H1.example.", "h2.example"],
      inventories: [[{ fqdn: "h3.example" }, { fqdn: "h1.example" }]],
      defaultPort: 7000,
    });
    assert.deepEqual(
      targets.map((t) => `${t.fqdn}@${t.address.host}:${t.address.port}`),
      ["h2.example@h2.example:7000", "h1.example@h1.example:7000", "h3.example@h3.example:7000"],
    );
  });

  void it("dials --resolve and inventory addresses but keeps the FQDN as the identity", () => {
    const [a, b] = resolveTargets({
      servers: ["a.example"],
      inventories: [[{ fqdn: "b.example", address: { host: "127.0.0.2", port: 1 } }]],
      resolve: ["A.example.=[::1]:6001"],
    });
    assert.deepEqual(a, {
      fqdn: "a.example",
      address: { host: "::1", port: 6001 },
      overridden: true,
    });
    assert.deepEqual(b, {
      fqdn: "b.example",
      address: { host: "127.0.0.2", port: 1 },
      overridden: true,
    });
  });

  void it("refuses malformed --resolve values and conflicting addresses", () => {
    assert.throws(() => resolveTargets({ resolve: ["nope"] }), /expected FQDN=ADDRESS:PORT/);
    assert.throws(() => resolveTargets({ resolve: ["a.example=127.0.0.1"] }), /not ADDRESS:PORT/);
    assert.throws(() => resolveTargets({ resolve: ["bad_name=127.0.0.1:1"] }), /bad_name/);
    assert.throws(
      () => resolveTargets({ resolve: ["a.example=127.0.0.1:1", "a.example=127.0.0.1:2"] }),
      /resolved twice/,
    );
    assert.throws(
      () =>
        resolveTargets({
          inventories: [
            [{ fqdn: "a.example", address: { host: "127.0.0.1", port: 1 } }],
            [{ fqdn: "a.example", address: { host: "127.0.0.1", port: 2 } }],
          ],
        }),
      /two addresses/,
    );
    assert.throws(() => resolveTargets({ servers: [""] }), /empty host name/);
  });
});
