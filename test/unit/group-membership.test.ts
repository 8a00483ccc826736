/**
 * Group membership on the controller's side: group name patterns are checked like user name
 * patterns and matched with the same bounded wildcard matcher, without regard to case, against
 * `DOMAIN\Group` and the group's name alone; groups the agent does not know are `unknown`, never
 * "in none".
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  MAX_GROUP_PATTERN_CHARS,
  compileGroupPattern,
  groupMembership,
} from "../../controller/index.js";
import { Session, SessionState } from "../../proto/gen/wms/v1/wms_session.js";

const patterns = (...texts: string[]) =>
  texts.map((pattern) => ({ pattern, matcher: compileGroupPattern(pattern) }));

const teacher = Session.fromPartial({
  sessionId: 1,
  state: SessionState.ACTIVE,
  userName: "m.okafor",
  domainName: "LAB",
  groups: ["BUILTIN\\Users", "LAB\\Staff", "LAB\\Teachers"],
  groupsKnown: true,
});

it("a user in a group a pattern names is a member: whole name or group alone, any case, wildcards", () => {
  assert.deepEqual(groupMembership(teacher, patterns("lab\\TEACHERS")), {
    kind: "member",
    group: "LAB\\Teachers",
    pattern: "lab\\TEACHERS",
  });
  assert.deepEqual(groupMembership(teacher, patterns("staff")), {
    kind: "member",
    group: "LAB\\Staff",
    pattern: "staff",
  });
  assert.equal(groupMembership(teacher, patterns("*\\Teach?rs")).kind, "member");
  assert.equal(
    groupMembership(teacher, patterns("OTHER\\Teachers", "Students")).kind,
    "not-member",
  );
  // A domain pattern alone names no group.
  assert.equal(groupMembership(teacher, patterns("LAB")).kind, "not-member");
});

it("groups the agent does not know are unknown, with the agent's note, never 'in none'", () => {
  const unknown = Session.fromPartial({
    ...teacher,
    groups: [],
    groupsKnown: false,
    note: "groups unknown: WTSQueryUserToken(1) failed with Win32 error 5 (access denied)",
  });
  assert.deepEqual(groupMembership(unknown, patterns("LAB\\Teachers")), {
    kind: "unknown",
    why: "groups unknown: WTSQueryUserToken(1) failed with Win32 error 5 (access denied)",
  });
  // An agent older than the field sends neither: groups_known reads false.
  const old = Session.fromPartial({ sessionId: 2, userName: "pupil", domainName: "LAB" });
  assert.equal(old.groupsKnown, false);
  const answer = groupMembership(old, patterns("LAB\\Teachers"));
  assert.equal(answer.kind, "unknown");
  assert.match(answer.kind === "unknown" ? answer.why : "", /does not report group membership/);
  // Known and empty is "in none".
  assert.equal(
    groupMembership({ ...teacher, groups: [] }, patterns("LAB\\Teachers")).kind,
    "not-member",
  );
});

it("a group pattern is checked: empty, too long, a forbidden character, two backslashes", () => {
  assert.throws(() => compileGroupPattern(""), /group name pattern: empty/);
  assert.throws(
    () => compileGroupPattern("x".repeat(MAX_GROUP_PATTERN_CHARS + 1)),
    /longer than 256 characters/,
  );
  assert.throws(() => compileGroupPattern("LAB\\Staff|All"), /character "\|" cannot appear/);
  assert.throws(() => compileGroupPattern("A\\B\\C"), /at most one "\\"/);
});

it("matching stays bounded by name length × pattern length, whatever the pattern", () => {
  const pattern = `${"*?".repeat(60)}!`;
  const matcher = compileGroupPattern(pattern);
  const group = `LAB\\${"a".repeat(200)}`;
  const session = { ...teacher, groups: [group] };
  assert.equal(groupMembership(session, [{ pattern, matcher }]).kind, "not-member");
  // Two names tried (whole and group alone), each within (length + 1) × (pattern + 1) steps.
  assert.ok(matcher.steps <= 2 * (group.length + 1) * (pattern.length + 1), `${matcher.steps}`);
});
