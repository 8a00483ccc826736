/**
 * Whatever a peer does, a spawned `wmsctl` gives its exit status once the deadline has passed:
 * a port that accepts TCP and never speaks TLS, an HTTP CONNECT proxy that never answers
 * (`grpc_proxy`), a host that never answers the TCP handshake (a listening socket whose queue is
 * full: the kernel drops the SYN, as a firewall would). Every socket, timer and handshake belongs
 * to the run and ends with it. The test waits for the exit; the only bound is the test timeout.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import { WMSCTL_BIN } from "../helpers/commands.js";
import { startSilentServer, type SilentServer } from "../helpers/controller-fleet.js";
import { makeTestPki, type TestPki } from "../helpers/controller-tls.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FQDN = "mute.lab.example.com";
/** Far above the deadline of 1 s plus start-up, even on a loaded machine. */
const BOUND = { timeout: 90_000 };

/** Runs wmsctl to its exit with `env` as its whole environment besides PATH and HOME. */
async function wmsctl(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [WMSCTL_BIN, ...args], {
    cwd: ROOT,
    // No proxy variables but those given: the test decides what sits in between.
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr };
}

const hasPython = spawnSync("python3", ["-c", "import socket"]).status === 0;

/** A port whose accept queue is full: connections to it stay in SYN-SENT. */
const BLACK_HOLE = `
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(0)
port = server.getsockname()[1]
fill = []
for _ in range(2):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(c)
print(port, flush=True)
sys.stdin.read()
`;

void describe("wmsctl exits once the deadline has passed, whatever the peer does", () => {
  let pki: TestPki;
  let silent: SilentServer;
  let tls: string[];
  before(async () => {
    pki = await makeTestPki(FQDN);
    silent = await startSilentServer();
    tls = ["--ca", pki.caPath, "--cert", pki.clientCertPath, "--key", pki.clientKeyPath];
  });
  after(async () => {
    await silent.close();
    await pki.remove();
  });

  const run = (port: number, env: Record<string, string> = {}) =>
    wmsctl(
      [
        "get",
        "-s",
        FQDN,
        `--resolve=${FQDN}=127.0.0.1:${port}`,
        ...tls,
        "--timeout",
        "1",
        "--retries",
        "0",
        "-o",
        "json",
      ],
      env,
    );

  void it("a port that accepts TCP and never speaks TLS", BOUND, async () => {
    const result = await run(silent.port);
    assert.equal(result.status, 3, result.stderr);
    const [report] = JSON.parse(result.stdout) as HostReport[];
    assert.equal(report?.status, "timeout");
    assert.match(report.error ?? "", /never finished the TLS handshake within the deadline/);
  });

  void it("an HTTP CONNECT proxy that never answers", BOUND, async () => {
    const result = await run(1, { grpc_proxy: `http://127.0.0.1:${silent.port}` });
    assert.equal(result.status, 3, result.stderr);
    const [report] = JSON.parse(result.stdout) as HostReport[];
    assert.equal(report?.status, "timeout");
  });

  void it(
    "a host that never answers the TCP handshake",
    { ...BOUND, skip: !hasPython && "python3 missing" },
    async () => {
      const hole: ChildProcess = spawn("python3", ["-c", BLACK_HOLE], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      try {
        const lines = createInterface({ input: hole.stdout as NodeJS.ReadableStream });
        const [first] = (await once(lines, "line")) as [string];
        const result = await run(Number(first));
        assert.equal(result.status, 3, result.stderr);
        const [report] = JSON.parse(result.stdout) as HostReport[];
        assert.equal(report?.status, "timeout");
        assert.match(report.error ?? "", /no connection to the agent within the deadline/);
      } finally {
        hole.stdin?.end();
        if (hole.exitCode === null) await once(hole, "exit");
      }
    },
  );
});
