/**
 * The access policy: identities from a verified certificate's CN and SANs, the roles of
 * `--allow`, and the messages of refusals. The certificates here are grpc-js's view of them
 * (Node's `PeerCertificate`), as the TLS handshake would give them.
 */
import assert from "node:assert/strict";
import type { PeerCertificate } from "node:tls";
import { describe, it } from "node:test";
import { status as Status } from "@grpc/grpc-js";
import { AccessDeniedError, type CallSecurityInfo } from "../../agent/server/access.js";
import { createAccessPolicy, roleMayCall } from "../../agent/security/authorization.js";
import type { Role } from "../../agent/config/options.js";
import { splitAltNames } from "../../agent/security/peer-identity.js";

let serial = 0;

/** A peer certificate as Node describes it; each one gets its own fingerprint. */
function peer(
  subject: Record<string, string | string[]>,
  subjectaltname?: string,
): PeerCertificate {
  serial += 1;
  return {
    subject,
    subjectaltname,
    fingerprint256: `FP:${serial}`,
  } as unknown as PeerCertificate;
}

/** Every method the agent serves, by a short name. */
const METHODS = {
  ListSessions: "/wms.v1.WmsSessionService/ListSessions",
  GetAgentInfo: "/wms.v1.WmsSessionService/GetAgentInfo",
  Disconnect: "/wms.v1.WmsSessionService/Disconnect",
  DisconnectAll: "/wms.v1.WmsSessionService/DisconnectAll",
  Logoff: "/wms.v1.WmsSessionService/Logoff",
  LogoffAll: "/wms.v1.WmsSessionService/LogoffAll",
  SendMessage: "/wms.v1.WmsSessionService/SendMessage",
  WatchSessions: "/wms.v1.WmsSessionService/WatchSessions",
  Health: "/grpc.health.v1.Health/Check",
  HealthWatch: "/grpc.health.v1.Health/Watch",
  ReflectionV1: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  ReflectionV1Alpha: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
} as const;

function call(
  rpc: keyof typeof METHODS,
  certificate: PeerCertificate | undefined,
): CallSecurityInfo {
  return {
    method: METHODS[rpc],
    peer: "10.0.0.5:50123",
    authContext:
      certificate === undefined
        ? {}
        : { transportSecurityType: "ssl", sslPeerCertificate: certificate },
  };
}

function policy(allow: Record<string, Role>) {
  return createAccessPolicy(new Map(Object.entries(allow)));
}

function denied(fn: () => unknown, code: Status, message: RegExp, identity?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof AccessDeniedError, String(error));
    assert.equal(Status[error.code], Status[code]);
    assert.match(error.message, message);
    assert.equal(error.identity, identity);
    return true;
  });
}

describe("createAccessPolicy", () => {
  it("gives readers the read RPCs, health and reflection, operators everything", () => {
    const { authorize } = policy({ "kiosk-7": "reader", ops: "operator" });
    for (const rpc of [
      "ListSessions",
      "GetAgentInfo",
      "WatchSessions",
      "Health",
      "HealthWatch",
      "ReflectionV1",
      "ReflectionV1Alpha",
    ] as const) {
      assert.equal(authorize(call(rpc, peer({ CN: "kiosk-7" }))), "kiosk-7");
    }
    for (const rpc of [
      "Disconnect",
      "DisconnectAll",
      "Logoff",
      "LogoffAll",
      "SendMessage",
    ] as const) {
      denied(
        () => authorize(call(rpc, peer({ CN: "kiosk-7" }))),
        Status.PERMISSION_DENIED,
        new RegExp(
          `^identity "kiosk-7" may not call wms\\.v1\\.WmsSessionService/${rpc} \\(role reader\\)$`,
        ),
        "kiosk-7",
      );
    }
    for (const rpc of Object.keys(METHODS) as (keyof typeof METHODS)[]) {
      assert.equal(authorize(call(rpc, peer({ CN: "ops" }))), "ops");
    }
  });

  it("keeps a method the reader list does not name for operators (a new RPC, a new service)", () => {
    assert.equal(roleMayCall("reader", "/wms.v1.WmsSessionService/Logoff"), false);
    assert.equal(roleMayCall("reader", "/wms.v1.OtherService/ListSessions"), false);
    assert.equal(roleMayCall("reader", "/grpc.health.v1.HealthX/Check"), false);
    assert.equal(roleMayCall("operator", "/wms.v1.WmsSessionService/Logoff"), true);
  });

  it("refuses a call without a verified certificate with UNAUTHENTICATED", () => {
    denied(
      () => policy({ ops: "operator" }).authorize(call("Disconnect", undefined)),
      Status.UNAUTHENTICATED,
      /no verified client certificate for wms\.v1\.WmsSessionService\/Disconnect/,
    );
  });

  it("names an unknown identity, its other names and the RPC", () => {
    const { authorize } = policy({ ops: "operator" });
    denied(
      () => authorize(call("Health", peer({ CN: "stranger" }))),
      Status.PERMISSION_DENIED,
      /^identity "stranger" is not allowed to call grpc\.health\.v1\.Health\/Check \(no --allow entry\)$/,
      "stranger",
    );
    denied(
      () =>
        authorize(
          call(
            "ListSessions",
            peer({ CN: "laptop" }, "DNS:Laptop.Lab.Example.com, IP Address:10.0.0.5"),
          ),
        ),
      Status.PERMISSION_DENIED,
      /^identity "laptop" \(also "laptop\.lab\.example\.com"\) is not allowed/,
      "laptop",
    );
  });

  it("refuses a certificate that names no identity, quoting its subject", () => {
    denied(
      () =>
        policy({ ops: "operator" }).authorize(
          call("ListSessions", peer({ O: "Lab" }, "IP Address:10.0.0.5")),
        ),
      Status.PERMISSION_DENIED,
      /the client certificate "O=Lab" names no identity/,
    );
  });

  it("matches SANs: email and URI exactly, DNS in any case; CN exactly", () => {
    const { authorize } = policy({
      "ops@lab.example.com": "operator",
      "spiffe://lab/monitor": "reader",
      "Console.Lab.Example.com": "operator",
      Admin: "operator",
    });
    assert.equal(
      authorize(call("Disconnect", peer({ CN: "x" }, "email:ops@lab.example.com"))),
      "ops@lab.example.com",
    );
    assert.equal(
      authorize(call("ListSessions", peer({}, "URI:spiffe://lab/monitor"))),
      "spiffe://lab/monitor",
    );
    assert.equal(
      authorize(call("Disconnect", peer({}, "DNS:CONSOLE.lab.example.COM"))),
      "console.lab.example.com",
    );
    denied(
      () => authorize(call("ListSessions", peer({}, "email:OPS@lab.example.com"))),
      Status.PERMISSION_DENIED,
      /no --allow entry/,
      "OPS@lab.example.com",
    );
    denied(
      () => authorize(call("ListSessions", peer({ CN: "admin" }))),
      Status.PERMISSION_DENIED,
      /"admin" is not allowed/,
      "admin",
    );
    assert.equal(authorize(call("Disconnect", peer({ CN: "Admin" }))), "Admin");
  });

  it("takes the strongest role among the certificate's names", () => {
    const { authorize } = policy({ "kiosk-7": "reader", "helpdesk@lab": "operator" });
    const both = peer({ CN: "kiosk-7" }, "email:helpdesk@lab");
    assert.equal(authorize(call("Disconnect", both)), "helpdesk@lab");
    assert.equal(authorize(call("ListSessions", both)), "helpdesk@lab");
  });

  it("reads every CN of a subject with several", () => {
    const { authorize } = policy({ second: "operator" });
    assert.equal(authorize(call("Disconnect", peer({ CN: ["first", "second"] }))), "second");
  });

  it("applies a replaced allow-list to the next call", () => {
    const access = policy({ ops: "operator" });
    const ops = peer({ CN: "ops" });
    assert.equal(access.authorize(call("Disconnect", ops)), "ops");
    access.update(new Map([["ops", "reader"]]));
    assert.deepEqual([...access.allowList()], [["ops", "reader"]]);
    denied(
      () => access.authorize(call("Disconnect", ops)),
      Status.PERMISSION_DENIED,
      /role reader/,
      "ops",
    );
  });
});

describe("splitAltNames", () => {
  it("splits Node's subjectaltname, decoding the values Node quotes", () => {
    assert.deepEqual(splitAltNames(""), []);
    assert.deepEqual(splitAltNames("DNS:a.example.com, IP Address:127.0.0.1"), [
      "DNS:a.example.com",
      "IP Address:127.0.0.1",
    ]);
    assert.deepEqual(
      splitAltNames('URI:"http://lab/a, DNS:evil.example.com", email:x@lab, DNS:b'),
      ["URI:http://lab/a, DNS:evil.example.com", "email:x@lab", "DNS:b"],
    );
    assert.deepEqual(splitAltNames('email:"quote\\"d@lab"'), ['email:quote"d@lab']);
    assert.throws(() => splitAltNames('URI:"unterminated'), /malformed subjectaltname/);
  });

  it("never lets a quoted value smuggle in a DNS name", () => {
    const { authorize } = policy({ "evil.example.com": "operator" });
    const smuggler = peer({ CN: "nobody" }, 'URI:"http://lab/a, DNS:evil.example.com"');
    denied(
      () => authorize(call("Disconnect", smuggler)),
      Status.PERMISSION_DENIED,
      /"nobody" \(also "http:\/\/lab\/a, DNS:evil\.example\.com"\) is not allowed/,
      "nobody",
    );
  });
});
