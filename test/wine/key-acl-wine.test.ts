/**
 * The key-permission check's Windows half for real, inside Windows Node under Wine:
 * `GetNamedSecurityInfoW` and `ConvertSecurityDescriptorToStringSecurityDescriptorW` through
 * koffi, and the verdict on what they return. Wine derives a file's DACL from its Unix mode (the
 * owner and SYSTEM get full access; Everyone gets read when others may read), so a key of mode
 * 0644 is one Everyone can read, and 0600 one they cannot. Wine cannot show inherited ACEs,
 * Users or Authenticated Users entries, or what `icacls` changes: the SDDL cases of
 * test/unit/agent-key-permissions.test.ts cover those. Skipped, with the reason, without Wine.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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

const missing = wineTierMissing();

void describe("the agent's key permissions read by the Windows API under Wine", () => {
  if (reportMissingTier(missing, "reads a key file's DACL through advapi32")) return;

  const dir = join(runsDir, "key-acl");
  const privateKey = join(dir, "private.key");
  const readable = join(dir, "readable.key");
  let results: Record<string, Verdict>;

  before(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(privateKey, "-----BEGIN PRIVATE KEY-----\n");
    chmodSync(privateKey, 0o600);
    writeFileSync(readable, "-----BEGIN PRIVATE KEY-----\n");
    chmodSync(readable, 0o644);
    const harness = await bundleHarness(join(winePaths.harnessSource, "..", "key-acl-harness.ts"));
    const run = runHarness(harness, "key-acl", {
      args: [windowsPath(privateKey), windowsPath(readable)],
    });
    assert.ok(
      run.output !== undefined,
      `the harness wrote nothing (exit ${run.status}):\n${run.log}`,
    );
    results = run.output as Record<string, Verdict>;
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
});
