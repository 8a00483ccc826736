/**
 * The Windows service's status as the Service Control Manager sees it (the state machine of
 * `service-control-manager.ts`, driven without Windows, with a manual clock and ticker): RUNNING
 * only once the agent serves, a stop while starting honoured, the checkpoint advancing with the
 * remaining grace while draining, success for a requested stop. The real SCM is in the Wine tier
 * (service-scm-wine.test.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CHECKPOINT_INTERVAL_MS,
  START_WAIT_HINT_MS,
  STOP_MARGIN_MS,
  ServiceAccept,
  ServiceControl,
  ServiceState,
  createServiceStatusMachine,
  serviceControlAction,
  type ServiceStatus,
} from "../../agent/windows-service/service-control-manager.js";
import { sessionChangeKind } from "../../agent/windows-service/service-hooks.js";

function machine() {
  const reported: ServiceStatus[] = [];
  let now = 1_000_000;
  let tick: (() => void) | undefined;
  const m = createServiceStatusMachine({
    report: (status) => reported.push(status),
    now: () => now,
    every: (ms, fn) => {
      assert.equal(ms, CHECKPOINT_INTERVAL_MS);
      tick = fn;
      return () => (tick = undefined);
    },
  });
  return {
    m,
    reported,
    last: () => reported.at(-1),
    advance: (ms: number) => {
      now += ms;
      tick?.();
    },
    ticking: () => tick !== undefined,
  };
}

const RUNNING_ACCEPTS =
  ServiceAccept.STOP |
  ServiceAccept.SHUTDOWN |
  ServiceAccept.PRESHUTDOWN |
  ServiceAccept.PARAMCHANGE |
  ServiceAccept.SESSIONCHANGE;

describe("the service's status", () => {
  it("starts pending, accepting a stop, and runs only once the agent serves", () => {
    const { m, reported, last } = machine();
    m.starting();
    assert.deepEqual(last(), {
      dwServiceType: 0x10,
      dwCurrentState: ServiceState.START_PENDING,
      dwControlsAccepted: ServiceAccept.STOP | ServiceAccept.SHUTDOWN | ServiceAccept.PRESHUTDOWN,
      dwWin32ExitCode: 0,
      dwServiceSpecificExitCode: 0,
      dwCheckPoint: 1,
      dwWaitHint: START_WAIT_HINT_MS,
    });
    m.serving();
    assert.equal(last()?.dwCurrentState, ServiceState.RUNNING);
    assert.equal(last()?.dwControlsAccepted, RUNNING_ACCEPTS);
    assert.equal(last()?.dwCheckPoint, 0);
    assert.equal(last()?.dwWaitHint, 0);
    m.serving();
    assert.equal(reported.length, 2, "RUNNING once");
  });

  it("honours a stop that arrives while starting: never RUNNING, STOPPED with success", () => {
    const { m, reported, last } = machine();
    m.starting();
    m.stopRequested();
    assert.equal(last()?.dwCurrentState, ServiceState.STOP_PENDING);
    assert.equal(last()?.dwCheckPoint, 2);
    m.serving();
    m.stopped(0);
    assert.deepEqual(
      reported.map((s) => s.dwCurrentState),
      [ServiceState.START_PENDING, ServiceState.STOP_PENDING, ServiceState.STOPPED],
    );
    assert.equal(last()?.dwWin32ExitCode, 0);
  });

  it("advances the checkpoint while draining, the wait hint the grace that remains", () => {
    const { m, last, advance, ticking } = machine();
    m.starting();
    m.serving();
    m.stopRequested();
    m.draining(10_000);
    assert.equal(last()?.dwCurrentState, ServiceState.STOP_PENDING);
    assert.equal(last()?.dwWaitHint, 10_000 + STOP_MARGIN_MS);
    const seen: [number, number][] = [];
    for (let i = 0; i < 12; i++) {
      advance(1000);
      seen.push([last()?.dwCheckPoint ?? -1, last()?.dwWaitHint ?? -1]);
    }
    assert.deepEqual(
      seen.map(([, hint]) => hint),
      [9000, 8000, 7000, 6000, 5000, 4000, 3000, 2000, 1000, 0, 0, 0].map(
        (r) => r + STOP_MARGIN_MS,
      ),
    );
    const checkpoints = seen.map(([checkpoint]) => checkpoint);
    assert.deepEqual(
      checkpoints,
      checkpoints.map((_, i) => (checkpoints[0] ?? 0) + i),
      "one more at every tick",
    );
    m.stopped(0);
    assert.equal(ticking(), false);
    assert.equal(last()?.dwCurrentState, ServiceState.STOPPED);
    assert.equal(last()?.dwCheckPoint, 0);
  });

  it("reports success for a requested stop whose calls were cut (the agent said 1)", () => {
    const { m, last } = machine();
    m.starting();
    m.serving();
    m.stopRequested();
    m.draining(1000);
    m.stopped(1);
    assert.equal(last()?.dwWin32ExitCode, 0);
    assert.equal(last()?.dwServiceSpecificExitCode, 0);
  });

  it("reports a failure the SCM did not ask for, so that its failure actions restart it", () => {
    const { m, last } = machine();
    m.starting();
    m.serving();
    m.stopped(2);
    assert.equal(last()?.dwWin32ExitCode, 1066);
    assert.equal(last()?.dwServiceSpecificExitCode, 2);
  });
});

describe("controls", () => {
  it("stop, preshutdown and shutdown stop; paramchange reloads; sessionchange is news", () => {
    assert.equal(serviceControlAction(ServiceControl.STOP), "stop");
    assert.equal(serviceControlAction(ServiceControl.PRESHUTDOWN), "stop");
    assert.equal(serviceControlAction(ServiceControl.SHUTDOWN), "stop");
    assert.equal(serviceControlAction(ServiceControl.PARAMCHANGE), "reload");
    assert.equal(serviceControlAction(ServiceControl.SESSIONCHANGE), "session-change");
    assert.equal(serviceControlAction(ServiceControl.INTERROGATE), "interrogate");
    assert.equal(serviceControlAction(2), "unsupported", "pause");
  });

  it("names each SESSIONCHANGE event type, and none Windows has not defined", () => {
    assert.equal(sessionChangeKind(5), "logon");
    assert.equal(sessionChangeKind(6), "logoff");
    assert.equal(sessionChangeKind(7), "lock");
    assert.equal(sessionChangeKind(8), "unlock");
    assert.equal(sessionChangeKind(1), "console-connect");
    assert.equal(sessionChangeKind(4), "remote-disconnect");
    assert.equal(sessionChangeKind(11), "terminate");
    assert.equal(sessionChangeKind(0), undefined);
    assert.equal(sessionChangeKind(12), undefined);
  });
});
