/**
 * The words of a failed connection (controller/connection-problem.ts), for what the integration
 * tests cannot easily make: a TLS 1.2 peer's alert, a reset during the handshake, an expired agent
 * certificate, an old failure that says nothing about the current one, and no attempt at all.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { connectionProblem } from "../../controller/connection-problem.js";
import type { ConnectionAttempt } from "../../controller/owned-connections.js";

const HOST = "h1.lab.example.com";
const failed = (message: string, extra: Record<string, unknown> = {}): ConnectionAttempt => ({
  peer: "192.0.2.10:50061",
  secure: true,
  phase: "failed",
  startedAt: 0,
  error: Object.assign(new Error(message), extra),
});
const unavailable = (attempt: ConnectionAttempt) =>
  connectionProblem(
    HOST,
    attempt,
    status.UNAVAILABLE,
    `No connection established. Last error: Error: ${attempt.error?.message ?? ""}`,
  );

void describe("connectionProblem", () => {
  void it("a TLS alert refusing this client's certificate", () => {
    const alert = failed("C0:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca", {
      reason: "tlsv1 alert unknown ca",
    });
    assert.equal(
      unavailable(alert),
      "192.0.2.10:50061 refused this client's certificate (TLS alert unknown ca): check that it was issued by the CA the agent trusts (the agent's --tls-ca), has not expired, and is a client certificate (wmsctl pki issue-client)",
    );
  });

  void it("a reset during the handshake, an expired or foreign agent certificate", () => {
    assert.match(
      unavailable(
        failed("Client network socket disconnected before secure TLS connection was established"),
      ) ?? "",
      /^192\.0\.2\.10:50061 closed the connection during the TLS handshake/,
    );
    assert.match(
      unavailable(failed("certificate has expired", { code: "CERT_HAS_EXPIRED" })) ?? "",
      /is out of date .*wmsctl pki issue-agent h1\.lab\.example\.com --force/,
    );
    assert.match(
      unavailable(failed("unable to get local issuer certificate")) ?? "",
      /^the agent's certificate at 192\.0\.2\.10:50061 is not signed by the CA wmsctl trusts/,
    );
  });

  void it("says nothing when the attempt does not explain the failure", () => {
    const old = failed("wrong version number", { reason: "wrong version number" });
    assert.equal(
      connectionProblem(
        HOST,
        old,
        status.UNAVAILABLE,
        "No connection established. Last error: Error: connect ECONNREFUSED 192.0.2.10:50061",
      ),
      undefined,
      "a later refused TCP connection is not the old handshake's fault",
    );
    assert.equal(
      connectionProblem(HOST, undefined, status.UNAVAILABLE, "connect ECONNREFUSED"),
      undefined,
    );
    assert.equal(connectionProblem(HOST, old, status.PERMISSION_DENIED, "no"), undefined);
  });

  void it("tells the failure the call had when grpc-js has begun the next attempt since", () => {
    // Under load the reconnect after a timed-out handshake can start before the call's failure
    // is translated: the channel's last attempt is then a new handshake under way.
    const timedOut = failed("no TLS handshake from 192.0.2.10:50061 within 200 ms", {
      name: "HandshakeTimeoutError",
    });
    const handshake: ConnectionAttempt = {
      peer: "192.0.2.10:50061",
      secure: true,
      phase: "handshake",
      startedAt: 1,
    };
    const next: ConnectionAttempt = { ...handshake, previous: { ...timedOut, timedOut: true } };
    const details = `No connection established. Last error: HandshakeTimeoutError: ${timedOut.error?.message ?? ""}`;
    assert.match(
      connectionProblem(HOST, next, status.UNAVAILABLE, details) ?? "",
      /^192\.0\.2\.10:50061 accepted the connection but never answered the TLS handshake/,
    );
    assert.equal(
      connectionProblem(HOST, handshake, status.UNAVAILABLE, details),
      undefined,
      "a handshake under way with no failure before it says nothing more than grpc-js",
    );
  });

  void it("a deadline with no connection at all", () => {
    assert.match(
      connectionProblem(HOST, undefined, status.DEADLINE_EXCEEDED, "Deadline exceeded") ?? "",
      /^no connection to the agent within the deadline: the host did not answer/,
    );
  });
});

void describe("connectionProblem, a connection closed before HTTP/2 answered", () => {
  const attempt = (phase: "established" | "closed"): ConnectionAttempt => ({
    peer: "192.0.2.10:50061",
    secure: true,
    phase,
    startedAt: 0,
  });
  const failedToConnect = "No connection established. Last error: Failed to connect (2026-11-30)";

  void it("tells the same story whether or not the socket's close was seen before the call failed", () => {
    // Under load grpc-js can fail the call while the attempt is still "established".
    for (const phase of ["closed", "established"] as const) {
      assert.match(
        connectionProblem(HOST, attempt(phase), status.UNAVAILABLE, failedToConnect) ?? "",
        /^192\.0\.2\.10:50061 finished the TLS handshake, then closed the connection without answering/,
        phase,
      );
    }
  });

  void it("says nothing of an established connection that failed otherwise", () => {
    assert.equal(
      connectionProblem(HOST, attempt("established"), status.UNAVAILABLE, "Connection dropped"),
      undefined,
    );
  });
});
