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
import { createAccessPolicy, ROLE_RPCS } from "../../agent/security/authorization.js";
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

function call(
  rpc: CallSecurityInfo["rpc"],
  certificate: PeerCertificate | undefined,
): CallSecurityInfo {
  return {
    rpc,
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
  it("gives readers the read RPCs and health, operators everything", () => {
    const { authorize } = policy({ "kiosk-7": "reader", ops: "operator" });
    for (const rpc of ["ListSessions", "GetAgentInfo", "WatchSessions", "Health"] as const) {
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
    for (const rpc of ROLE_RPCS.operator) {
      assert.equal(authorize(call(rpc, peer({ CN: "ops" }))), "ops");
    }
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
      /^identity "stranger" is not allowed to call grpc\.health\.v1\.Health \(no --allow entry\)$/,
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
