/**
 * A malformed `--user` pattern is refused by wmsctl and by the library before anything is sent,
 * by the rules the agent applies (controller/session-filter.ts holds them to the agent's);
 * `--computer-name` is in the help.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { createController, resolveTargets } from "../../controller/index.js";
import { runWmsctl } from "../helpers/controller-cli.js";

void describe("user name patterns", () => {
  void it("the library refuses one before any call: disconnectAll and logoffAll throw TypeError", () => {
    const controller = createController({ credentials: credentials.createInsecure() });
    try {
      const targets = resolveTargets({ servers: ["h1.lab.example.com"] });
      const filter = { userNamePattern: "a|b", states: [], minIdleTime: undefined };
      for (const call of [
        () => controller.disconnectAll(targets, { filter }),
        () => controller.logoffAll(targets, { filter }),
      ]) {
        assert.throws(
          call,
          (error: unknown) =>
            error instanceof TypeError && /character "\|" cannot appear/.test(error.message),
        );
      }
    } finally {
      controller.close();
    }
  });

  void it("wmsctl: a usage error (exit 2) that says what a pattern is", async () => {
    const run = await runWmsctl([
      "disconnect",
      "--all",
      "--user",
      "LAB\\a\\b",
      "--insecure-loopback",
    ]);
    assert.equal(run.status, 2);
    assert.equal(
      run.stderr,
      'wmsctl: --user: "LAB\\\\a\\\\b": at most one "\\" (DOMAIN\\user) (a pattern is a user name, or DOMAIN\\user, with * for any run of characters and ? for one)\n',
    );
  });
});

void it("--computer-name (PowerShell's alias of -Server) is in the help", async () => {
  for (const command of ["get", "disconnect", "health"]) {
    const run = await runWmsctl([command, "--help"]);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /--computer-name <fqdn>\s+alias of --server/, command);
  }
});
