/**
 * The permission checks' Windows half for real, inside Windows Node under Wine:
 * `GetNamedSecurityInfoW` and `ConvertSecurityDescriptorToStringSecurityDescriptorW` through
 * koffi (the agent's key; what `service install` would have LocalSystem run), the account's SID
 * from its token, and the verdicts on what they return. Wine derives a file's DACL from its Unix mode (the
 * owner and SYSTEM get full access; Everyone gets read when others may read), so a key of mode
 * 0644 is one Everyone can read, and 0600 one they cannot; a file or folder others may write is one
 * Everyone may change, which `service install` refuses. Wine cannot show inherited ACEs, Users or
 * Authenticated Users entries, or what `icacls` changes (its icacls does nothing): the SDDL cases of
 * test/unit/agent-key-permissions.test.ts and service-install-safety.test.ts cover those. Skipped,
 * with the reason, without Wine.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { before, describe, it } from "node:test";
import {
  bundleHarness,
  reportMissingTier,
  runHarness,
  runsDir,
  windowsPath,
  winePaths,
  wineTierMissing,
} from "./wine-env.js";

interface Verdict {
  readonly sddl?: string;
  readonly problem?: string | null;
  readonly error?: string;
}
interface InstallVerdict {
  readonly node: string;
  readonly script: string;
  readonly found?: { path: string; writers: string[] }[];
  readonly error?: string;
}
interface Output {
  readonly keys: Record<string, Verdict>;
  readonly user: string;
  readonly installs: InstallVerdict[];
}

const missing = wineTierMissing();

void describe("key and install permissions read by the Windows API under Wine", () => {
  if (reportMissingTier(missing, "reads a key file's DACL through advapi32")) return;

  const dir = join(runsDir, "key-acl");
  const privateKey = join(dir, "private.key");
  const readable = join(dir, "readable.key");
  // An agent checkout whose entry script every user may change, and one whose bin folder is.
  const writableScript = join(dir, "writable-script", "bin", "wms-agent.js");
  const writableFolder = join(dir, "writable-folder", "bin", "wms-agent.js");
  let results: Record<string, Verdict>;
  let output: Output;

  before(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const script of [writableScript, writableFolder]) {
      mkdirSync(dirname(script), { recursive: true });
      writeFileSync(script, "// the agent\n");
    }
    chmodSync(writableScript, 0o666);
    chmodSync(dirname(writableFolder), 0o777);
    writeFileSync(privateKey, "-----BEGIN PRIVATE KEY-----\n");
    chmodSync(privateKey, 0o600);
    writeFileSync(readable, "-----BEGIN PRIVATE KEY-----\n");
    chmodSync(readable, 0o644);
    const harness = await bundleHarness(join(winePaths.harnessSource, "..", "key-acl-harness.ts"));
    const node = windowsPath(winePaths.nodeExe);
    const run = runHarness(harness, "key-acl", {
      args: [
        windowsPath(privateKey),
        windowsPath(readable),
        ...["--install", node, windowsPath(harness)],
        ...["--install", node, windowsPath(writableScript)],
        ...["--install", node, windowsPath(writableFolder)],
      ],
    });
    assert.ok(
      run.output !== undefined,
      `the harness wrote nothing (exit ${run.status}):\n${run.log}`,
    );
    output = run.output as Output;
    results = output.keys;
  });

  void it("accepts a key that only its owner and SYSTEM can read", () => {
    const verdict = results[windowsPath(privateKey)];
    assert.equal(verdict?.error, undefined, verdict?.error);
    assert.match(
      verdict?.sddl ?? "",
      /^O:S-1-5-21-[\d-]+D:\(A;;FA;;;SY\)\(A;;FA;;;S-1-5-21-[\d-]+\)$/,
    );
    assert.equal(verdict?.problem, null);
  });

  void it("refuses a key Everyone can read, with the icacls command that fixes it", () => {
    const verdict = results[windowsPath(readable)];
    assert.equal(verdict?.error, undefined, verdict?.error);
    assert.match(verdict?.sddl ?? "", /\(A;;0x1200a9;;;WD\)$/);
    assert.equal(
      verdict?.problem,
      `the private key is readable by Everyone (S-1-1-0); anyone in that group can impersonate this agent. From an elevated prompt: icacls "${windowsPath(readable)}" /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F /remove:g *S-1-5-32-545 *S-1-1-0 *S-1-5-11`,
    );
  });

  void it("reads the installing account's SID from its token", () => {
    assert.match(output.user, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
  });

  void it("accepts an install whose files only the installing account (owner) can change", () => {
    const [ok] = output.installs;
    assert.equal(ok?.error, undefined, ok?.error);
    assert.deepEqual(ok?.found, []);
  });

  void it("refuses an entry script, or a folder of it, that Everyone may change", () => {
    const [, script, folder] = output.installs;
    assert.equal(script?.error, undefined, script?.error);
    assert.deepEqual(script?.found, [
      { path: windowsPath(writableScript), writers: ["Everyone (S-1-1-0)"] },
    ]);
    assert.equal(folder?.error, undefined, folder?.error);
    assert.deepEqual(folder?.found, [
      { path: windowsPath(dirname(writableFolder)), writers: ["Everyone (S-1-1-0)"] },
    ]);
  });
});
