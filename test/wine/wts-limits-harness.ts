/**
 * The `wts` backend's limits on libuv's pool, inside Windows Node under Wine beside the test
 * `wtsapi32.dll` (bundled by `wine-env.ts`; run by `wts-limits-wine.test.ts`). Remote Desktop
 * Services hangs (the DLL blocks `WTSDisconnectSession` and `WTSEnumerateSessionsW` while the
 * file named by `WMSFLEET_FAKE_WTS_FAIL_FILE` says `hang`), and the harness records what the
 * agent needs meanwhile: callers answered with 1460 once their timeout passed, at most
 * `maxConcurrentCalls` threads taken, a file written and flushed to disk (the audit log's
 * `fdatasync`) all the same, health false; then, the hang over, slots back and every buffer freed.
 */
import { open, rm, writeFile } from "node:fs/promises";
import koffi from "koffi";
import { createWtsBackend } from "../../agent/backends/wts.js";
import { harnessSteps } from "./harness-steps.js";

const { step, write } = harnessSteps();
const failFile = process.env["WMSFLEET_FAKE_WTS_FAIL_FILE"] ?? "";
const scratch = process.argv[4] ?? "";

/** Slots of the backend (a getter of the class, not of the port). */
type WithSlots = { callSlots: { inUse: number; waiting: number; max: number } };

try {
  const dll = koffi.load("wtsapi32.dll");
  const statsFn = dll.func(
    "void __stdcall FakeWtsStats(_Out_ int32_t *a, _Out_ int32_t *f, _Out_ int32_t *b, _Out_ int32_t *c, _Out_ uint32_t *id, _Out_ int32_t *wait)",
  );
  const allocations = () => {
    const out: [number][] = [[0], [0], [0], [0], [0], [0]];
    statsFn(...out);
    return { allocations: out[0]?.[0] ?? -1, frees: out[1]?.[0] ?? -1 };
  };
  const backend = await createWtsBackend({ maxConcurrentCalls: 2, callTimeoutMs: 2000 });
  const slots = () => (backend as unknown as WithSlots).callSlots;
  await step("before", async () => ({
    sessions: (await backend.listSessions()).length,
    slots: slots(),
  }));

  await writeFile(failFile, "disconnect=hang\n");
  // Three disconnects for two slots: two hang on worker threads, the third waits for a slot.
  const hung = [1, 2, 3].map((id) =>
    backend.disconnectSession(id, { wait: true }).then(
      () => ({ id, ok: true }),
      (error: { code?: number; message?: string }) => ({
        id,
        code: error.code,
        message: error.message,
      }),
    ),
  );
  await step("hungCalls", () => Promise.all(hung));
  await step("slotsWhileHung", () => slots());
  // What the audit log does for each record: write, then fdatasync, on the pool.
  await step("flushWhileHung", async () => {
    const file = await open(scratch, "w");
    try {
      await file.write("an audit record\n");
      await file.datasync();
    } finally {
      await file.close();
    }
    return true;
  });
  await step("healthyWhileHung", () => backend.isHealthy());

  await rm(failFile, { force: true });
  // The hung calls return on their own threads now; wait until both slots are back.
  await step("slotsAfter", async () => {
    for (let tries = 0; tries < 600 && slots().inUse > 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return slots();
  });
  await step("disconnectAfter", () =>
    backend.disconnectSession(4, { wait: true }).then(() => true),
  );
  await step("healthyAfter", () => backend.isHealthy());
  await backend.close();
  await step("allocations", () => allocations());
  write();
} catch (error) {
  write(error instanceof Error ? (error.stack ?? error.message) : String(error));
}
