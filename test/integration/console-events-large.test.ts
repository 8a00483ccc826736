/**
 * The event stream of a large fleet: a snapshot bigger than the stream's buffer limit
 * (`MAX_BUFFERED_BYTES`, which 1,000 hosts × 20 sessions pass several times over) is sent once,
 * and the changes after it follow as changes. A stream is sent a fresh snapshot after it drained
 * only when it missed an event while paused; before, every snapshot of such a fleet paused the
 * stream and was followed by another, without end, and the web UI reloaded the whole fleet again
 * and again.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { MAX_BUFFERED_BYTES } from "../../console/api/routes/events-route.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { openEvents, waitForFleet } from "../helpers/console-events.js";
import { TEST_CONTROLLER, startTestConsole } from "../helpers/console-harness.js";
import { startFleet, stopFleet } from "../helpers/controller-fleet.js";

/** Sessions added to the classroom: their snapshot is larger than the buffer limit. */
const EXTRA_SESSIONS = 6000;

it(
  "a snapshot larger than the stream's buffer limit is sent once, then the changes follow",
  { timeout: 120_000 },
  async (t) => {
    const hosts = await startFleet([{ fqdn: "big.lab.example.com" }]);
    t.after(() => stopFleet(hosts));
    const host = hosts[0];
    assert.ok(host !== undefined);
    for (let index = 0; index < EXTRA_SESSIONS; index += 1) {
      host.backend.addSession({
        sessionId: 1000 + index,
        state: SessionState.ACTIVE,
        userName: `student.${String(index).padStart(5, "0")}`,
        domainName: "LAB",
        stationName: `RDP-Tcp#${index}`,
        clientName: `LAB-PC-${String(index).padStart(5, "0")}`,
        logonTime: new Date("2026-03-10T08:00:00Z"),
        lastInputTime: new Date("2026-03-10T08:30:00Z"),
      });
    }
    const dir = await mkdtemp(join(tmpdir(), "wms-console-events-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const inventory = join(dir, "lab.txt");
    await writeFile(inventory, `big.lab.example.com 127.0.0.1:${host.agent.ports[0] ?? 0}\n`);
    const console = await startTestConsole(
      t,
      { inventory: [inventory] },
      {
        controller: TEST_CONTROLLER,
      },
    );
    await waitForFleet(console.fleet, () => {
      const big = console.fleet.host("big.lab.example.com");
      return big?.status === "online" && big.version !== null;
    });
    await console.addUser("reader", "reader");
    const { token } = await console.addToken("reader");

    const stream = await openEvents(console.url, { authorization: `Bearer ${token}` });
    t.after(() => stream.close());
    const snapshot = await stream.next((event) => event.type === "snapshot");
    assert.ok(snapshot.type === "snapshot");
    assert.ok(
      JSON.stringify(snapshot).length > MAX_BUFFERED_BYTES,
      "the snapshot is larger than the buffer limit",
    );
    host.backend.updateSession(1000, { locked: true });
    await stream.next(
      (event) =>
        event.type === "sessions" &&
        event.changes.some(
          (change) => change.kind === "changed" && change.session.sessionId === 1000,
        ),
    );
    assert.deepEqual(
      stream.events.filter((event) => event.type === "snapshot").length,
      1,
      "one snapshot, then the change",
    );
  },
);
