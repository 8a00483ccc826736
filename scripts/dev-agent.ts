/**
 * `npm start`: a development agent that a newcomer's `npx wmsctl get` talks to over mutual TLS
 * with no set-up. On first start it makes a development PKI in the checkout's git-ignored
 * `.wmsctl/` (`WMSFLEET_DEV_DIR` to put it elsewhere): a CA, an agent certificate for `localhost`
 * (and this machine's name, 127.0.0.1, ::1), a client certificate `dev-operator`, and wmsctl's
 * `ca.pem`, `client.pem`, `client.key`, which wmsctl finds by looking for `.wmsctl/` upwards from
 * the current directory. Then it runs, from the TypeScript sources through tsx (this is the
 * development path: an edit shows at the next start, with no build),
 *
 *     wms-agent --listen localhost:50061 --tls-cert … --tls-key … --tls-ca …
 *               --allow dev-operator=operator [extra arguments]
 *
 * forwarding SIGINT, SIGTERM and SIGHUP to it and exiting with its status once it has stopped.
 * Extra arguments come after these, so they win (`npm start -- --listen 127.0.0.1:50062`).
 *
 * `npm start` runs this script through a shell (`sh -c`), and a SIGTERM sent to npm reaches that
 * shell only, which dies without passing it on; so the parent going away stops the agent too,
 * as a SIGTERM would, instead of leaving it serving on port 50061 with nobody to stop it.
 */
import { spawn } from "node:child_process";
import { constants, hostname } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_AGENT_PORT } from "../common/agent-port.js";
import { outliveClosedPipe } from "../common/closed-pipe.js";
import { PkiError, ensureDevelopmentPki } from "../controller/pki/index.js";

// Output to a terminal or pipe that went away is lost, not a crash that leaves the agent behind.
outliveClosedPipe(process.stdout);
outliveClosedPipe(process.stderr);

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const devDir = process.env["WMSFLEET_DEV_DIR"];
const configDir = devDir !== undefined && devDir !== "" ? devDir : join(ROOT, ".wmsctl");

let pki;
try {
  pki = await ensureDevelopmentPki({ configDir, hostNames: [hostname()] });
} catch (error) {
  const message = error instanceof PkiError ? error.message : String(error);
  process.stderr.write(`dev-agent: cannot make the development PKI in ${configDir}: ${message}\n`);
  process.exit(2);
}
if (pki.written.length > 0) {
  const shown = pki.written.map((path) => relative(configDir, path));
  process.stderr.write(`dev-agent: development PKI in ${configDir}: wrote ${shown.join(", ")}\n`);
}

const agentArgs = [
  "--import",
  import.meta.resolve("tsx"),
  join(ROOT, "agent", "entry.ts"),
  "--listen",
  `localhost:${DEFAULT_AGENT_PORT}`,
  "--tls-cert",
  pki.agent.certPath,
  "--tls-key",
  pki.agent.keyPath,
  "--tls-ca",
  pki.ca.certPath,
  "--allow",
  `${pki.clientName}=operator`,
  ...process.argv.slice(2),
];
// Off Windows the agent gets its own process group, so that a Ctrl-C on the terminal reaches it
// once, through us (two SIGINTs would skip its drain), not also straight from the terminal.
const detached = process.platform !== "win32";
const agent = spawn(process.execPath, agentArgs, { stdio: "inherit", detached });

const FORWARDED: readonly NodeJS.Signals[] =
  process.platform === "win32" ? ["SIGTERM"] : ["SIGINT", "SIGTERM", "SIGHUP"];
for (const signal of FORWARDED) {
  process.on(signal, () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill(signal);
  });
}
// The parent's going away is a stop as well. Node.js has no event for it; the process is
// re-parented (its `ppid` changes), which costs one system call to see, twice a second.
const PARENT_CHECK_MS = 500;
const parent = process.ppid;
const parentWatch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(parentWatch);
  process.stderr.write("dev-agent: the parent process went away; stopping the agent\n");
  if (agent.exitCode === null && agent.signalCode === null) agent.kill("SIGTERM");
}, PARENT_CHECK_MS);

// Whatever else ends this process, the agent goes too.
process.on("exit", () => {
  if (agent.exitCode === null && agent.signalCode === null) agent.kill("SIGTERM");
});

agent.on("error", (error) => {
  process.stderr.write(`dev-agent: cannot run wms-agent: ${error.message}\n`);
  process.exit(1);
});
agent.on("exit", (code, signal) => {
  clearInterval(parentWatch);
  process.exit(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
});
