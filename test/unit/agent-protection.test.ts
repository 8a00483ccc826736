import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  protectionMessage,
  protectionOf,
  protectionResultMessage,
  SERVICES_SESSION_ID,
  type ProtectionContext,
} from "../../agent/sessions/protection.js";
import { Protection } from "../../proto/gen/wms/v1/wms_session.js";

/** The agent in session 7, a local caller in session 12, a request naming session 15. */
const CONTEXT: ProtectionContext = {
  agentSessionId: 7,
  caller: { kind: "resolved", sessionIds: [12] },
  requestCallerSessionId: 15,
};

const NOBODY: ProtectionContext = {
  agentSessionId: 7,
  caller: { kind: "remote" },
  requestCallerSessionId: undefined,
};

/** A caller on this host whose process could not be found (rule 3 failing closed). */
const UNRESOLVED: ProtectionContext = {
  agentSessionId: 7,
  caller: { kind: "unresolved", reason: "the connection closed" },
  requestCallerSessionId: 15,
};

void describe("protectionOf", () => {
  void it("names session 0 as the services session", () => {
    assert.equal(SERVICES_SESSION_ID, 0);
    assert.equal(protectionOf(0, CONTEXT), Protection.SERVICES_SESSION);
    assert.equal(protectionOf(0, NOBODY), Protection.SERVICES_SESSION);
  });

  void it("applies each rule to its own session", () => {
    assert.equal(protectionOf(7, CONTEXT), Protection.AGENT_SESSION);
    assert.equal(protectionOf(12, CONTEXT), Protection.CALLER_PROCESS);
    assert.equal(protectionOf(15, CONTEXT), Protection.CALLER_SESSION_ID);
  });

  void it("leaves every other session unprotected", () => {
    for (const id of [1, 2, 6, 8, 11, 13, 14, 16, 65536, 4294967294]) {
      assert.equal(protectionOf(id, CONTEXT), Protection.UNSPECIFIED, `session ${id}`);
    }
  });

  void it("protects nothing more when the caller's session is unknown", () => {
    assert.equal(protectionOf(12, NOBODY), Protection.UNSPECIFIED);
    assert.equal(protectionOf(15, NOBODY), Protection.UNSPECIFIED);
    assert.equal(protectionOf(7, NOBODY), Protection.AGENT_SESSION);
  });

  void it("reports rule 1 before rule 2 when the agent runs as a service (session 0)", () => {
    const service: ProtectionContext = { ...CONTEXT, agentSessionId: 0 };
    assert.equal(protectionOf(0, service), Protection.AGENT_SESSION);
    assert.equal(protectionOf(7, service), Protection.UNSPECIFIED);
  });

  void it("reports the first rule in DESIGN order when several apply", () => {
    const all: ProtectionContext = {
      agentSessionId: 3,
      caller: { kind: "resolved", sessionIds: [3] },
      requestCallerSessionId: 3,
    };
    assert.equal(protectionOf(3, all), Protection.AGENT_SESSION);
    const callerTwice: ProtectionContext = {
      agentSessionId: 1,
      caller: { kind: "resolved", sessionIds: [4] },
      requestCallerSessionId: 4,
    };
    assert.equal(protectionOf(4, callerTwice), Protection.CALLER_PROCESS);
    const servicesAndCaller: ProtectionContext = {
      agentSessionId: 1,
      caller: { kind: "resolved", sessionIds: [0] },
      requestCallerSessionId: 0,
    };
    assert.equal(protectionOf(0, servicesAndCaller), Protection.SERVICES_SESSION);
  });

  void it("protects the session of every process that holds the caller's socket", () => {
    const shared: ProtectionContext = {
      ...NOBODY,
      caller: { kind: "resolved", sessionIds: [4, 9] },
    };
    assert.equal(protectionOf(4, shared), Protection.CALLER_PROCESS);
    assert.equal(protectionOf(9, shared), Protection.CALLER_PROCESS);
    assert.equal(protectionOf(5, shared), Protection.UNSPECIFIED);
  });

  void it("fails closed for an unresolved local caller: every session, after the certain rules", () => {
    for (const id of [1, 2, 12, 16, 65536, 4294967294]) {
      assert.equal(protectionOf(id, UNRESOLVED), Protection.CALLER_UNRESOLVED, `session ${id}`);
    }
    assert.equal(protectionOf(7, UNRESOLVED), Protection.AGENT_SESSION);
    assert.equal(protectionOf(0, UNRESOLVED), Protection.SERVICES_SESSION);
    assert.equal(protectionOf(15, UNRESOLVED), Protection.CALLER_SESSION_ID);
  });

  void it("lets caller_session_id add protection but never remove another rule's", () => {
    // The request names session 9; the agent's own session and session 0 stay protected.
    const context: ProtectionContext = { ...CONTEXT, requestCallerSessionId: 9 };
    assert.equal(protectionOf(9, context), Protection.CALLER_SESSION_ID);
    assert.equal(protectionOf(7, context), Protection.AGENT_SESSION);
    assert.equal(protectionOf(0, context), Protection.SERVICES_SESSION);
    assert.equal(protectionOf(12, context), Protection.CALLER_PROCESS);
  });
});

void describe("protectionMessage", () => {
  void it("explains each rule in its own words", () => {
    assert.equal(protectionMessage(Protection.AGENT_SESSION), "protected: the agent's own session");
    assert.equal(
      protectionMessage(Protection.SERVICES_SESSION),
      "protected: the services session (session 0)",
    );
    assert.equal(
      protectionMessage(Protection.CALLER_PROCESS),
      "protected: the session of the calling process",
    );
    assert.equal(
      protectionMessage(Protection.CALLER_SESSION_ID),
      "protected: the caller's session (caller_session_id)",
    );
  });

  void it("says 'not protected' when no rule applies", () => {
    assert.equal(protectionMessage(Protection.UNSPECIFIED), "not protected");
    assert.equal(protectionMessage(Protection.UNRECOGNIZED), "not protected");
  });

  void it("gives a distinct message per rule", () => {
    const messages = [
      Protection.AGENT_SESSION,
      Protection.SERVICES_SESSION,
      Protection.CALLER_PROCESS,
      Protection.CALLER_SESSION_ID,
      Protection.CALLER_UNRESOLVED,
    ].map(protectionMessage);
    assert.equal(new Set(messages).size, 5);
  });

  void it("says why an unresolved caller protects a session, and that nothing was done", () => {
    const message = protectionResultMessage(Protection.CALLER_UNRESOLVED, UNRESOLVED);
    assert.match(
      message,
      /^protected: the caller runs on this host but its process could not be found/,
    );
    assert.match(message, /nothing was done \(the connection closed\)$/);
    assert.equal(
      protectionResultMessage(Protection.CALLER_PROCESS, CONTEXT),
      protectionMessage(Protection.CALLER_PROCESS),
    );
  });
});
