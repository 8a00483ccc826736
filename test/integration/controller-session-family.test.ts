/**
 * The controller's log off, message and warn-then-act against real agents (the simulated
 * classroom) over real gRPC: one result per host with the agents' outcomes, and warn, then act
 * leaving alone a user who comes back during the grace period — on an injected clock, whose
 * grace period is where the test makes the user come back.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import {
  createController,
  type Controller,
  type GraceClock,
  type HostResult,
  type WarnThenActResponse,
} from "../../controller/index.js";
import {
  MessageButtons,
  MessageResponse,
  Outcome,
  SessionState,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { startFleet, stopFleet, type FleetHost } from "../helpers/controller-fleet.js";

const H1 = "h1.lab.example.com";
const H2 = "h2.lab.example.com";
const IDLE_30M = {
  userNamePattern: "",
  states: [SessionState.IDLE],
  minIdleTime: { seconds: 1800, nanos: 0 },
};

async function collect<T>(
  results: AsyncIterable<HostResult<T>>,
): Promise<Map<string, HostResult<T>>> {
  const byHost = new Map<string, HostResult<T>>();
  for await (const result of results) {
    assert.equal(byHost.has(result.host), false, `${result.host} reported once`);
    byHost.set(result.host, result);
  }
  return byHost;
}

function ok<T>(result: HostResult<T> | undefined): T {
  assert.ok(result !== undefined, "the host was reported");
  assert.equal(result.status, "ok", result.status === "ok" ? "" : result.message);
  return result.response;
}

const outcomes = (results: readonly SessionResult[]) =>
  results.map((r) => [r.sessionId, Outcome[r.outcome]]);

/** A grace period that passes at once, after `during` has run (what users do meanwhile). */
function graceClock(during: () => void = () => undefined): GraceClock & { slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    now: () => Date.now(),
    sleep: (ms, signal) => {
      signal.throwIfAborted();
      slept.push(ms);
      during();
      return Promise.resolve();
    },
  };
}

void describe("controller session family against real agents", () => {
  let fleet: FleetHost[] = [];
  let controller: Controller;
  const host = (fqdn: string) => fleet.find((h) => h.fqdn === fqdn) as FleetHost;
  const targets = () => fleet.map((h) => h.target);

  beforeEach(async () => {
    fleet = await startFleet([{ fqdn: H1 }, { fqdn: H2 }]);
    // Every call here must be answered: a deadline no loaded machine misses (npm test runs files
    // side by side on two cores), not 5 s.
    controller = createController({ credentials: credentials.createInsecure(), timeoutMs: 60_000 });
  });
  afterEach(async () => {
    controller.close();
    await stopFleet(fleet);
  });

  void it("logoff and logoffAll: one result per host with the agent's outcomes", async () => {
    const whatIf = await collect(controller.logoff(targets(), [2, 0, 65536, 99], { whatIf: true }));
    for (const fqdn of [H1, H2]) {
      assert.deepEqual(outcomes(ok(whatIf.get(fqdn)).results), [
        [2, "WOULD_LOG_OFF"],
        [0, "PROTECTED"],
        [65536, "NOT_DISCONNECTABLE"],
        [99, "NOT_FOUND"],
      ]);
    }
    assert.deepEqual(host(H1).backend.logoffCalls(), []);

    const done = await collect(controller.logoff([host(H1).target], [2]));
    assert.deepEqual(outcomes(ok(done.get(H1)).results), [[2, "LOGGED_OFF"]]);
    const all = await collect(controller.logoffAll(targets(), { filter: IDLE_30M }));
    for (const fqdn of [H1, H2]) {
      assert.deepEqual(outcomes(ok(all.get(fqdn)).results), [
        [5, "LOGGED_OFF"],
        [8, "LOGGED_OFF"],
      ]);
    }
  });

  void it("sendMessage by id and by filter, waiting for the users' answers", async () => {
    host(H1).backend.inject(2, { messageResponse: MessageResponse.YES });
    const answered = await collect(
      controller.sendMessage(
        [host(H1).target],
        { kind: "ids", sessionIds: [2, 0] },
        { text: "Save your work?", buttons: MessageButtons.YES_NO, timeoutMs: 60_000, wait: true },
      ),
    );
    const results = ok(answered.get(H1)).results;
    assert.deepEqual(outcomes(results), [
      [2, "MESSAGE_SENT"],
      [0, "NOT_DISCONNECTABLE"],
    ]);
    assert.equal(results[0]?.response, MessageResponse.YES);
    const shown = await collect(
      controller.sendMessage(
        targets(),
        { kind: "all", filter: IDLE_30M },
        { text: "Class is over" },
      ),
    );
    for (const fqdn of [H1, H2]) {
      const sent = ok(shown.get(fqdn)).results;
      assert.deepEqual(outcomes(sent), [
        [5, "MESSAGE_SENT"],
        [8, "MESSAGE_SENT"],
      ]);
      assert.equal(sent[0]?.response, MessageResponse.NOT_WAITED);
    }
    assert.deepEqual(
      host(H2)
        .backend.messageCalls()
        .map((c) => [c.sessionId, c.text]),
      [
        [5, "Class is over"],
        [8, "Class is over"],
      ],
    );
  });

  void it("warn, then act: logs off the idle who stay idle, leaves alone the one who came back", async () => {
    const clock = graceClock(() => {
      // Oliver (session 5) comes back to Station 4 during the grace period, on h1 only.
      host(H1).backend.updateSession(5, { lastInputTime: new Date(), state: SessionState.IDLE });
    });
    let grace: unknown;
    const results = await collect<WarnThenActResponse>(
      controller.warnThenAct(targets(), {
        action: "logoff",
        selection: { kind: "all", filter: IDLE_30M },
        warning: { text: "You will be logged off in 5 minutes", title: "Classroom" },
        graceMs: 300_000,
        clock,
        onGrace: (period) => (grace = period),
      }),
    );
    assert.deepEqual(clock.slept, [300_000]);
    assert.deepEqual(grace !== undefined && { ...(grace as object), endsAt: undefined }, {
      sessions: 4,
      hosts: 2,
      graceMs: 300_000,
      endsAt: undefined,
    });
    const h1 = ok(results.get(H1));
    assert.deepEqual(outcomes(h1.results), [
      [5, "NO_LONGER_MATCHES"],
      [8, "LOGGED_OFF"],
    ]);
    assert.match(
      h1.results[0]?.message ?? "",
      /^left alone: the user came back: idle \d+s now, less than the 30m asked for$/,
    );
    assert.deepEqual(outcomes(h1.warnings), [
      [5, "MESSAGE_SENT"],
      [8, "MESSAGE_SENT"],
    ]);
    assert.deepEqual(outcomes(ok(results.get(H2)).results), [
      [5, "LOGGED_OFF"],
      [8, "LOGGED_OFF"],
    ]);
    assert.deepEqual(
      host(H1)
        .backend.logoffCalls()
        .map((c) => c.sessionId),
      [8],
    );
    const box = host(H1).backend.messageCalls()[0];
    assert.equal(box?.title, "Classroom");
    assert.equal(box?.timeoutSeconds, 300, "the box closes when the grace ends");
  });

  void it("warn, then act by id: a session that another user logged on to is left alone", async () => {
    const clock = graceClock(() => {
      const backend = host(H1).backend;
      backend.endLogon(3);
      backend.updateSession(3, {
        state: SessionState.ACTIVE,
        userName: "new.pupil",
        domainName: "LAB",
        logonTime: new Date(),
      });
    });
    const results = await collect<WarnThenActResponse>(
      controller.warnThenAct([host(H1).target], {
        action: "disconnect",
        selection: { kind: "ids", sessionIds: [2, 3, 16, 0] },
        warning: { text: "Disconnecting in a minute" },
        graceMs: 60_000,
        clock,
      }),
    );
    const h1 = ok(results.get(H1));
    assert.deepEqual(outcomes(h1.results), [
      [0, "PROTECTED"],
      [2, "DISCONNECTED"],
      [3, "NO_LONGER_MATCHES"],
      [16, "ALREADY_DISCONNECTED"],
    ]);
    assert.equal(
      h1.results[2]?.message,
      "left alone: another logon has this session id now (LAB\\new.pupil; warned: LAB\\zoë.brennan)",
    );
    assert.deepEqual(
      host(H1)
        .backend.disconnectCalls()
        .map((c) => c.sessionId),
      [2],
    );
  });

  void it("warn, then act --what-if shows who would be warned and acted on, sends nothing, waits not", async () => {
    const clock = graceClock();
    const results = await collect<WarnThenActResponse>(
      controller.warnThenAct(targets(), {
        action: "logoff",
        selection: { kind: "all", filter: IDLE_30M },
        warning: { text: "bye" },
        graceMs: 300_000,
        whatIf: true,
        clock,
      }),
    );
    for (const fqdn of [H1, H2]) {
      const response = ok(results.get(fqdn));
      assert.deepEqual(outcomes(response.results), [
        [5, "WOULD_LOG_OFF"],
        [8, "WOULD_LOG_OFF"],
      ]);
      assert.deepEqual(outcomes(response.warnings), [
        [5, "WOULD_SEND_MESSAGE"],
        [8, "WOULD_SEND_MESSAGE"],
      ]);
      assert.deepEqual(host(fqdn).backend.messageCalls(), []);
      assert.deepEqual(host(fqdn).backend.logoffCalls(), []);
    }
    assert.deepEqual(clock.slept, []);
  });

  void it("warn, then act: an abort during the grace period acts on nothing; a host that fails is reported once", async () => {
    host(H2).backend.setAvailable(false);
    const abort = new AbortController();
    const clock: GraceClock = {
      now: () => Date.now(),
      sleep: (_ms, signal) => {
        abort.abort(new Error("operator changed their mind"));
        return Promise.reject(signal.reason as Error);
      },
    };
    const seen: HostResult<WarnThenActResponse>[] = [];
    await assert.rejects(async () => {
      for await (const result of controller.warnThenAct(targets(), {
        action: "logoff",
        selection: { kind: "all", filter: IDLE_30M },
        warning: { text: "bye" },
        graceMs: 300_000,
        clock,
        signal: abort.signal,
      })) {
        seen.push(result);
      }
    }, /operator changed their mind/);
    assert.deepEqual(
      seen.map((r) => [r.host, r.status, r.status === "ok" ? "" : r.code]),
      [[H2, "failed", "UNAVAILABLE"]],
      "the host whose backend is down is reported at the what-if, the other never acted on",
    );
    assert.deepEqual(host(H1).backend.logoffCalls(), []);
    assert.equal(host(H1).backend.messageCalls().length, 2, "the warning was shown");
  });
});
