/**
 * The agent's side of running as a Windows service (`agent/main.ts` with `io.service`), in
 * process on any platform with hooks no SCM drives: a stop asked while it starts is honoured
 * without serving; it reports serving once it listens and sets its preshutdown timeout from its
 * grace; a stop drains (reported with the grace); a requested stop whose call was cut exits 0 and
 * logs the cut call; the SCM's session changes reach the backend. The SCM's side, under Wine's
 * SCM, is test/wine/service-scm-wine.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { main } from "../../agent/main.js";
import type { ServiceHooks, SessionChange } from "../../agent/windows-service/service-hooks.js";
import { WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";

type Line = Record<string, unknown> & { msg?: string };

/** Hooks that record what the agent told the SCM, and a stop the test asks for. */
function hooks() {
  const stop = new AbortController();
  const told: string[] = [];
  let reportServing: () => void = () => undefined;
  const serving = new Promise<void>((resolve) => (reportServing = resolve));
  const sessionListeners = new Set<(change: SessionChange) => void>();
  const service: ServiceHooks = {
    stopSignal: stop.signal,
    serving: () => {
      told.push("serving");
      reportServing();
    },
    draining: (graceMs) => told.push(`draining ${graceMs}`),
    setStopGrace: (graceMs) => (told.push(`preshutdown ${graceMs}`), undefined),
    onSessionChange(listener) {
      sessionListeners.add(listener);
      return () => sessionListeners.delete(listener);
    },
  };
  return { service, stop, told, sessionListeners, serving };
}

/** Runs `main` with `argv`; its log lines as they come, and a wait for one of them. */
function run(argv: string[], service: ServiceHooks) {
  const stdout = new PassThrough();
  const lines: Line[] = [];
  const waiters: [(line: Line) => boolean, (line: Line) => void][] = [];
  let buffered = "";
  stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      const line = JSON.parse(buffered.slice(0, end)) as Line;
      buffered = buffered.slice(end + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter[0](line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter[1](line);
        }
      }
    }
  });
  const stderr = new PassThrough();
  const exited = main({ argv, env: {}, stdout, stderr, service });
  const waitFor = (match: (line: Line) => boolean) =>
    new Promise<Line>((resolve) => {
      const seen = lines.find(match);
      if (seen !== undefined) resolve(seen);
      else waiters.push([match, resolve]);
    });
  return { exited, lines, waitFor };
}

const LOOPBACK = ["--insecure-loopback", "--listen", "127.0.0.1:0", "--host-fqdn", "localhost"];

describe("wms-agent as a Windows service, the agent's side", () => {
  it("stops without serving when the stop came while it started: exit 0", async () => {
    const { service, stop, told } = hooks();
    stop.abort(new Error("service stop"));
    const agent = run(LOOPBACK, service);
    assert.equal(await agent.exited, 0);
    assert.deepEqual(told, []);
    assert.ok(
      agent.lines.some((l) => l.msg === "stopped before serving, as the service was asked"),
    );
    assert.ok(!agent.lines.some((l) => l.msg === "agent listening"));
  });

  it("serves, then drains on the SCM's stop with its grace, and hands session changes on", async (t) => {
    const { service, stop, told, sessionListeners, serving } = hooks();
    t.after(() => stop.abort());
    const agent = run([...LOOPBACK, "--log-level", "debug", "--shutdown-grace", "7"], service);
    await serving;
    assert.ok(
      agent.lines.some((l) => l.msg === "agent listening"),
      "serving once it listens",
    );
    assert.deepEqual(told, ["preshutdown 7000", "serving"]);
    const running = agent.lines.find((l) => l.msg === "running as a Windows service");
    assert.equal(running?.["preshutdownTimeout"], "the grace period and a margin");
    assert.equal(sessionListeners.size, 1);
    for (const listener of sessionListeners) listener({ kind: "lock", sessionId: 3 });
    const change = await agent.waitFor(
      (l) => l.msg === "session change from the Service Control Manager",
    );
    assert.deepEqual(change["change"], { kind: "lock", sessionId: 3 });
    stop.abort(new Error("service stop"));
    assert.equal(await agent.exited, 0);
    assert.deepEqual(told, ["preshutdown 7000", "serving", "draining 7000"]);
    assert.equal(sessionListeners.size, 0, "unsubscribed");
    const stopping = agent.lines.find((l) => l.msg === "shutting down");
    assert.equal(stopping?.["service"], "service stop");
  });

  it("exits 0 for a requested stop whose call was cut at the end of the grace, naming the call", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "wms-service-hooks-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const fixture = join(dir, "slow.json");
    await writeFile(fixture, JSON.stringify({ listLatencyMs: 60_000, sessions: [] }));
    const { service, stop } = hooks();
    t.after(() => stop.abort());
    const agent = run(
      [...LOOPBACK, "--sim-fixture", fixture, "--log-level", "debug", "--shutdown-grace", "1"],
      service,
    );
    const listening = await agent.waitFor((l) => l.msg === "agent listening");
    const port = (listening["ports"] as number[])[0];
    const client = new WmsSessionServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    t.after(() => client.close());
    const call = new Promise<unknown>((resolve) =>
      client.listSessions({ sessionIds: [], expectedHost: "localhost" }, (error) => resolve(error)),
    );
    await agent.waitFor((l) => l.msg === "rpc started");
    stop.abort(new Error("system shutdown (preshutdown)"));
    assert.equal(await agent.exited, 0);
    assert.ok((await call) instanceof Error, "the cut call failed");
    const cut = agent.lines.find(
      (l) => l.msg === "the grace period is over: cutting the calls still in flight",
    );
    assert.equal(
      (cut?.["cut"] as { rpc: string }[] | undefined)?.[0]?.rpc,
      "wms.v1.WmsSessionService/ListSessions",
    );
    const end = agent.lines.at(-1);
    assert.equal(
      end?.msg,
      "stopped as the service was asked, with calls cut at the end of the grace period: exit 0",
    );
    assert.equal(end["reason"], "system shutdown (preshutdown)");
  });
});
