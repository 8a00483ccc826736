/**
 * A program of your own on the wmsfleet library, importing it by the package's name as any
 * program that depends on wmsfleet does: lists the sessions of the hosts named on its command
 * line, one JSON line per host, as the hosts answer.
 *
 *     node list-sessions.js [--insecure-loopback] [--credentials DIR] FQDN[=ADDRESS:PORT]...
 *
 * Mutual TLS with DIR's `ca.pem`, `client.pem` and `client.key` (wmsctl's files; `npm start`
 * writes them to `.wmsctl/`, the default), or `--insecure-loopback` for an agent started with that
 * flag. `FQDN=ADDRESS:PORT` dials the host at that address, as `wmsctl --resolve` does.
 * test/e2e/library.test.ts compiles it against the built package and runs it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createController, credentials, resolveTargets, type HostResult } from "wmsfleet";
import { sessionStateToJSON, type ListSessionsResponse } from "wmsfleet/proto";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "insecure-loopback": { type: "boolean", default: false },
    credentials: { type: "string", default: ".wmsctl" },
  },
});

async function channelCredentials() {
  if (values["insecure-loopback"]) return credentials.createInsecure();
  const file = (name: string) => readFile(join(values.credentials, name));
  return credentials.createSsl(
    await file("ca.pem"),
    await file("client.key"),
    await file("client.pem"),
  );
}

/** One host's line: its sessions, or why there are none. */
function line(result: HostResult<ListSessionsResponse>): object {
  if (result.status !== "ok")
    return { host: result.host, status: result.status, error: result.message };
  return {
    host: result.host,
    status: result.status,
    sessions: result.response.sessions.map((session) => ({
      id: session.sessionId,
      state: sessionStateToJSON(session.state),
      user: session.userName,
    })),
  };
}

const targets = resolveTargets({
  servers: positionals.map((arg) => arg.split("=")[0] ?? arg),
  resolve: positionals.filter((arg) => arg.includes("=")),
});
const controller = createController({ credentials: await channelCredentials() });
try {
  for await (const result of controller.listSessions(targets)) {
    process.stdout.write(`${JSON.stringify(line(result))}\n`);
  }
} finally {
  controller.close();
}
