/**
 * The library boundary, as a program that depends on wmsfleet meets it: the package's `exports`
 * ("wmsfleet", "wmsfleet/pki", "wmsfleet/proto") resolve to the library `npm run build` compiles
 * (scripts/build-library.js), an example program that imports them by name type-checks against
 * the declarations and runs against a real agent, and nothing else of the package can be
 * imported. The package is copied to a temporary folder (manifest, tsconfig, examples, the built
 * library, node_modules linked), so that the sources of the checkout are not what is found.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { defaultSimFixture } from "../../agent/backends/sim-fixture.js";
import { startHost, stopFleet, type FleetHost } from "../helpers/controller-fleet.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node ...args` in `cwd` to completion. */
function node(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd }, (error, stdout, stderr) =>
      resolve({ status: typeof error?.code === "number" ? error.code : 0, stdout, stderr }),
    );
  });
}

describe("the library: wmsfleet, wmsfleet/pki and wmsfleet/proto by name", () => {
  let pkg = "";
  let host: FleetHost;

  before(async () => {
    pkg = await mkdtemp(join(tmpdir(), "wmsfleet-library-"));
    for (const file of ["package.json", "tsconfig.json", "examples"]) {
      await cp(join(ROOT, file), join(pkg, file), { recursive: true });
    }
    await symlink(join(ROOT, "node_modules"), join(pkg, "node_modules"), "dir");
    const build = await node(["scripts/build-library.js", "--outdir", join(pkg, "dist/lib")], ROOT);
    assert.equal(build.status, 0, build.stderr);
    // A program that reaches past the exports, compiled with the examples (one compiler run).
    await writeFile(
      join(pkg, "examples", "internal.ts"),
      'import { fanOut } from "wmsfleet/dist/lib/controller/fan-out.js";\nconsole.log(typeof fanOut);\n',
    );
    host = await startHost({ fqdn: "h1.lab.example.com" });
  });
  after(async () => {
    await stopFleet([host]);
    await rm(pkg, { recursive: true, force: true });
  });

  it("type-checks the example program against the package's declarations, and only that", async () => {
    const compile = await node([TSC, "-p", "examples"], pkg);
    const errors = compile.stdout.split("\n").filter((line) => /error TS\d+/.test(line));
    assert.equal(errors.length, 1, compile.stdout + compile.stderr);
    assert.match(
      errors[0] ?? "",
      /^examples\/internal\.ts.*Cannot find module 'wmsfleet\/dist\/lib\/controller\/fan-out\.js'/,
    );
  });

  it("runs the compiled example against an agent", async () => {
    const { port } = host.target.address;
    const run = await node(
      [
        "examples/out/list-sessions.js",
        "--insecure-loopback",
        `h1.lab.example.com=127.0.0.1:${port}`,
      ],
      pkg,
    );
    assert.equal(run.status, 0, run.stderr);
    const line = JSON.parse(run.stdout) as {
      host: string;
      status: string;
      sessions: { id: number }[];
    };
    assert.equal(line.host, "h1.lab.example.com");
    assert.equal(line.status, "ok");
    assert.deepEqual(
      line.sessions.map((session) => session.id),
      defaultSimFixture().sessions.map((session) => session.sessionId),
    );
  });

  it("exports nothing else: Node.js refuses internals too; what is exported loads", async () => {
    const load = await node(
      ["--input-type=module", "-e", 'await import("wmsfleet/dist/lib/controller/fan-out.js")'],
      pkg,
    );
    assert.notEqual(load.status, 0);
    assert.match(load.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
    // What is exported does load, as JavaScript, with no TypeScript involved.
    const pki = await node(
      [
        "--input-type=module",
        "-e",
        'const pki = await import("wmsfleet/pki"); console.log(typeof pki.createCertificateAuthority)',
      ],
      pkg,
    );
    assert.equal(pki.stdout.trim(), "function", pki.stderr);
  });
});
