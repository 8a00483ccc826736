/**
 * What `npm run build` makes (and `npm ci` / `npm install` make, through `prepare`), run as users
 * run it: bin/wms-agent.js and bin/wmsctl.js, which run the bundles in dist/ and nothing else
 * (helpers/commands.ts checks the bundles are those of the sources as they are). A checkout
 * without them says how to make them.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { defaultSimFixture } from "../../agent/backends/sim-fixture.js";
import { WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient } from "../helpers/agent-harness.js";
import { AGENT_BIN, WMSCTL_BIN } from "../helpers/commands.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HOST = "mps01.lab.example.com";
const BINS = { "wms-agent": AGENT_BIN, wmsctl: WMSCTL_BIN } as const;

/** Runs `node ...args` to completion; resolves to its status and output. */
function node(
  args: readonly string[],
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT }, (error, stdout, stderr) =>
      resolve({ status: typeof error?.code === "number" ? error.code : 0, stdout, stderr }),
    );
  });
}

describe("the commands as users run them (bin/ runs the bundles of dist/)", () => {
  let version = "";
  let work = "";

  before(async () => {
    ({ version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    });
    work = await mkdtemp(join(tmpdir(), "wmsfleet-build-"));
  });
  after(() => rm(work, { recursive: true, force: true }));

  it("answers --version with package.json's version and --help, for both commands", async () => {
    for (const [command, bin] of Object.entries(BINS)) {
      const printed = await node([bin, "--version"]);
      assert.equal(printed.stdout.trim(), version, command);
      assert.match(
        (await node([bin, "--help"])).stdout,
        new RegExp(`^Usage: ${command} `),
        command,
      );
    }
  });

  it("says how to build when dist/ has no bundle, for both commands", async () => {
    await mkdir(join(work, "bin"));
    for (const [command, bin] of Object.entries(BINS)) {
      const copy = join(work, "bin", `${command}.js`);
      await copyFile(bin, copy);
      const run = await node([copy, "--version"]);
      assert.equal(run.status, 1, command);
      assert.equal(run.stdout, "");
      assert.equal(
        run.stderr,
        `${command}: dist/${command}.mjs is missing; build it with \`npm run build\` (npm ci and npm install do)\n`,
      );
    }
  });

  it("serves the default classroom, then stops on SIGTERM", async (t) => {
    const child = spawn(
      process.execPath,
      [AGENT_BIN, "--insecure-loopback", "--listen", "127.0.0.1:0", "--host-fqdn", HOST],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const port = await Promise.race([
      new Promise<number>((resolve) => {
        createInterface({ input: child.stdout }).on("line", (text) => {
          const line = JSON.parse(text) as { msg?: string; ports?: number[] };
          if (line.msg === "agent listening" && line.ports?.[0] !== undefined) {
            resolve(line.ports[0]);
          }
        });
      }),
      exited.then((code): never => {
        throw new Error(`wms-agent exited with ${code}: ${stderr}`);
      }),
    ]);

    const raw = new WmsSessionServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const client = promisifyClient(raw);
      const info = await client.getAgentInfo();
      assert.equal(info.version, version);
      assert.equal(info.host, HOST);
      assert.equal(info.backend, "simulated");
      const { sessions } = await client.listSessions();
      assert.deepEqual(
        sessions.map((s) => s.sessionId),
        defaultSimFixture().sessions.map((s) => s.sessionId),
      );
    } finally {
      raw.close();
    }
    child.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
  });
});
