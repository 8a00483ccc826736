/**
 * What the agent does with each control code the Service Control Manager sends (the codes of
 * winsvc.h): stop, preshutdown and shutdown drain, paramchange reloads as SIGHUP does,
 * sessionchange is news for the watch, interrogate reports.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { serviceControlAction } from "../../agent/windows-service/service-control-manager.js";

it("maps the SCM's control codes to the agent's actions", () => {
  assert.equal(serviceControlAction(1), "stop"); // SERVICE_CONTROL_STOP
  assert.equal(serviceControlAction(5), "stop"); // SERVICE_CONTROL_SHUTDOWN
  assert.equal(serviceControlAction(6), "reload"); // SERVICE_CONTROL_PARAMCHANGE
  assert.equal(serviceControlAction(4), "interrogate"); // SERVICE_CONTROL_INTERROGATE
  assert.equal(serviceControlAction(2), "unsupported"); // SERVICE_CONTROL_PAUSE
  assert.equal(serviceControlAction(3), "unsupported"); // SERVICE_CONTROL_CONTINUE
  assert.equal(serviceControlAction(0x0f), "stop"); // SERVICE_CONTROL_PRESHUTDOWN
  assert.equal(serviceControlAction(0x0e), "session-change"); // SERVICE_CONTROL_SESSIONCHANGE
});
