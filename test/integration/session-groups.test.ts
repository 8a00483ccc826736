/**
 * A session's groups through real gRPC: the simulated backend's fixture gives the teacher
 * `LAB\Staff` and `LAB\Teachers` and the pupils `LAB\Students`; a user whose groups the backend
 * cannot read is listed with `groups_known` false and a note, the list whole; nobody logged on
 * has no known groups; a logon made by the live classroom model comes with its user's groups; the
 * watch stream carries them too.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { simUserGroups } from "../../agent/backends/sim-activity.js";
import { startAgent } from "../../agent/server/agent.js";
import { createController, credentials } from "../../controller/index.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { loopbackTarget } from "../helpers/controller-fleet.js";

it("ListSessions carries each user's groups, and says when they are unknown", async (t) => {
  const backend = createSimulatedBackend({ env: {} });
  const agent = await startAgent({
    hostFqdn: "ws1.lab.example.com",
    backend,
    listen: ["127.0.0.1:0"],
    graceMs: 0,
  });
  t.after(() => agent.shutdown({ graceMs: 0 }));
  const controller = createController({ credentials: credentials.createInsecure() });
  t.after(() => controller.close());
  const target = loopbackTarget("ws1.lab.example.com", agent.ports[0] ?? 0);

  backend.updateSession(5, { groups: null });
  backend.addSession({
    sessionId: 120,
    state: SessionState.ACTIVE,
    userName: "sami.haddad",
    domainName: "LAB",
    stationName: "RDP-Tcp#120",
    groups: simUserGroups("sami.haddad"),
  });
  const answers = [];
  for await (const answer of controller.listSessions([target], { actor: "test" })) {
    answers.push(answer);
  }
  const answer = answers[0];
  assert.equal(answer?.status, "ok");
  const sessions = answer?.status === "ok" ? answer.response.sessions : [];
  const byId = (id: number) => sessions.find((s) => s.sessionId === id);
  assert.deepEqual(
    [byId(1)?.userName, byId(1)?.groups, byId(1)?.groupsKnown],
    ["m.okafor", ["LAB\\Staff", "LAB\\Teachers"], true],
  );
  assert.deepEqual([byId(2)?.groups, byId(2)?.groupsKnown], [["LAB\\Students"], true]);
  // The user is there, the groups are not: known false, the note says why, the list is whole.
  assert.equal(byId(5)?.userName, "oliver.bennett");
  assert.deepEqual([byId(5)?.groups, byId(5)?.groupsKnown], [[], false]);
  assert.match(byId(5)?.note ?? "", /^groups unknown: /);
  // The services session: nobody logged on, no groups known.
  assert.deepEqual([byId(0)?.groups, byId(0)?.groupsKnown], [[], false]);
  assert.deepEqual(byId(120)?.groups, ["LAB\\Staff", "LAB\\Teachers"]);
  assert.deepEqual(simUserGroups("aiko.tanaka"), ["LAB\\Students"]);

  // The watch: a change of groups is a change of the session, sent with them.
  const abort = new AbortController();
  t.after(() => abort.abort());
  let last: readonly string[] | undefined;
  for await (const event of controller.watch([target], { actor: "test", signal: abort.signal })) {
    if (event.kind === "snapshot") {
      assert.equal(event.sessions.find((s) => s.sessionId === 5)?.groupsKnown, false);
      backend.updateSession(5, { groups: ["LAB\\Students"] });
    } else if (event.kind === "changes") {
      const five = event.changes.find((c) => c.session?.sessionId === 5)?.session;
      if (five?.groupsKnown === true) {
        last = five.groups;
        break;
      }
    }
  }
  assert.deepEqual(last, ["LAB\\Students"]);
});
