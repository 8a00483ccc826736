/**
 * The shared module `common/`: what the agent and the controller both need, defined once.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { DEFAULT_AGENT_PORT } from "../../common/agent-port.js";
import { outliveClosedPipe } from "../../common/closed-pipe.js";
import {
  MAX_HOST_LABEL_LENGTH,
  MAX_HOST_NAME_LENGTH,
  canonicalHostName,
  hostNameProblem,
} from "../../common/host-name.js";
import {
  MAX_SESSION_ID,
  MAX_SESSION_IDS,
  WTS_CURRENT_SESSION,
  isSessionId,
} from "../../common/session-id.js";
import { WMSFLEET_VERSION } from "../../common/version.js";

void describe("common/version", () => {
  void it("is package.json's version", () => {
    const manifest = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    assert.equal(WMSFLEET_VERSION, manifest.version);
  });
});

void describe("common/agent-port", () => {
  void it("is 50061, the port of the contract", () => {
    assert.equal(DEFAULT_AGENT_PORT, 50061);
  });
});

void describe("common/session-id", () => {
  void it("accepts every uint32 but WTS_CURRENT_SESSION", () => {
    assert.equal(WTS_CURRENT_SESSION, 4294967295);
    assert.equal(MAX_SESSION_ID, 4294967294);
    assert.equal(MAX_SESSION_IDS, 4096);
    for (const id of [0, 1, 65536, MAX_SESSION_ID]) assert.equal(isSessionId(id), true, `${id}`);
    for (const bad of [WTS_CURRENT_SESSION, 2 ** 32, -1, 0.5, Number.NaN, "3", undefined, null]) {
      assert.equal(isSessionId(bad), false, String(bad));
    }
  });
});

void describe("common/host-name", () => {
  void it("canonicalHostName lowercases and drops exactly one trailing dot", () => {
    assert.equal(canonicalHostName("H1.Lab.Example.COM."), "h1.lab.example.com");
    assert.equal(canonicalHostName("h1.lab.example.com"), "h1.lab.example.com");
    assert.equal(canonicalHostName("h1.."), "h1.");
    assert.equal(canonicalHostName(""), "");
  });

  void it("hostNameProblem accepts RFC 1123 names up to the limits", () => {
    const label = "a".repeat(MAX_HOST_LABEL_LENGTH);
    const longest = [label, label, label, "a".repeat(61)].join(".");
    assert.equal(longest.length, MAX_HOST_NAME_LENGTH);
    for (const name of [
      "localhost",
      "h1.lab.example.com",
      "xn--bcher-kva.example",
      "1host.a-b",
      longest,
    ]) {
      assert.equal(hostNameProblem(name), undefined, name);
    }
  });

  void it("hostNameProblem says what is wrong", () => {
    const cases: [string, string][] = [
      ["", "it is empty"],
      [`${"a".repeat(250)}.com`, "it is 254 characters long; at most 253 are allowed"],
      ["h1..lab", "it has an empty label"],
      [`${"a".repeat(64)}.lab`, `the label "${"a".repeat(64)}" is longer than 63 characters`],
      ["bad_name.lab", 'the label "bad_name" may hold only letters, digits and inner hyphens'],
      ["-h1.lab", 'the label "-h1" may hold only letters, digits and inner hyphens'],
      ["256.1.1.1", "it is a dotted number, not a host name"],
    ];
    for (const [name, problem] of cases) assert.equal(hostNameProblem(name), problem, name);
  });
});

void describe("common/closed-pipe", () => {
  void it("makes EPIPE harmless, once per stream, and rethrows anything else", () => {
    const stream = new PassThrough();
    outliveClosedPipe(stream);
    outliveClosedPipe(stream);
    assert.equal(stream.listenerCount("error"), 1, "guarded once");
    const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    assert.doesNotThrow(() => stream.emit("error", epipe));
    const other = Object.assign(new Error("write EIO"), { code: "EIO" });
    assert.throws(() => stream.emit("error", other), /EIO/);
  });
});
