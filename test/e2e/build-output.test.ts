/**
 * `npm run build` makes a tree that runs without the TypeScript sources: the compiled modules
 * (`tsc -p tsconfig.build.json`, here into a temporary `--outDir`) plus what
 * scripts/copy-build-assets.js puts beside them. The tree is built outside the checkout, with only
 * `node_modules` linked in, so a run-time read that still reaches into the sources fails here.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { defaultSimFixture } from "../../agent/backends/sim-fixture.js";
import { WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient } from "../helpers/agent-harness.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const HOST = "mps01.lab.example.com";

/** Runs `node ...args` to completion; rejects with its output when it fails. */
function node(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`node ${args.join(" ")}: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe("the build output (npm run build)", () => {
  let out = "";
  let version = "";

  before(async () => {
    out = await mkdtemp(join(tmpdir(), "wmsfleet-build-"));
    await symlink(join(ROOT, "node_modules"), join(out, "node_modules"), "dir");
    await node([TSC, "-p", "tsconfig.build.json", "--outDir", out]);
    await node(["scripts/copy-build-assets.js", out]);
    ({ version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    });
  });
  after(() => rm(out, { recursive: true, force: true }));

  it("answers --version with package.json's version and --help, for both commands", async () => {
    for (const command of ["wms-agent", "wmsctl"]) {
      const bin = join(out, "bin", `${command}.js`);
      assert.equal((await node([bin, "--version"])).stdout.trim(), version, command);
      assert.match(
        (await node([bin, "--help"])).stdout,
        new RegExp(`^Usage: ${command} `),
        command,
      );
    }
  });

  it("serves the default classroom, then stops on SIGTERM", async (t) => {
    const child = spawn(
      process.execPath,
      [
        join(out, "bin", "wms-agent.js"),
        "--insecure-loopback",
        "--listen",
        "127.0.0.1:0",
        "--host-fqdn",
        HOST,
      ],
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
        throw new Error(`the built wms-agent exited with ${code}: ${stderr}`);
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
