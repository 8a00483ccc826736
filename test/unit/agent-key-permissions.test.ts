/**
 * The agent's private key must be private: on Linux no group or other bit (real files, chmod), on
 * Windows no allow entry for Users, Everyone or Authenticated Users that reads it (SDDL as
 * `GetNamedSecurityInfoW` gives it; the real call runs in the Wine tier, key-acl-wine.test.ts).
 */
import assert from "node:assert/strict";
import { chmod } from "node:fs/promises";
import { before, describe, it } from "node:test";
import { ConfigError } from "../../agent/config/options.js";
import {
  broadReadersOf,
  parseSddlRights,
  posixKeyProblem,
  windowsKeyFixCommand,
} from "../../agent/security/key-permissions.js";
import { loadTlsMaterial, type TlsFiles } from "../../agent/security/tls.js";
import {
  createTestCa,
  pemFolder,
  type IssuedCertificate,
  type PemFolder,
  type TestCa,
} from "../helpers/test-pki.js";

const HOST = "mps01.lab.example.com";
let ca: TestCa;
let agent: IssuedCertificate;
before(async () => {
  ca = await createTestCa("key permissions CA");
  agent = await ca.issueServer([HOST]);
});

async function files(folder: PemFolder): Promise<TlsFiles> {
  return {
    cert: await folder.write("agent.pem", agent.cert),
    key: await folder.write("agent.key", agent.key),
    ca: await folder.write("ca.pem", ca.cert),
  };
}

describe("the agent's key on Linux: real files, real modes", () => {
  for (const mode of [0o600, 0o400]) {
    it(`accepts a key of mode ${mode.toString(8)}`, async (t) => {
      const tls = await files(await pemFolder(t));
      await chmod(tls.key, mode);
      const material = await loadTlsMaterial(tls);
      assert.equal(material.files.key, tls.key);
    });
  }

  for (const [mode, who] of [
    [0o640, "its group"],
    [0o620, "its group"],
    [0o604, "every other user"],
    [0o644, "its group and every other user"],
    [0o666, "its group and every other user"],
  ] as const) {
    it(`refuses a key of mode 0${mode.toString(8)}: ${who}, and says chmod 600`, async (t) => {
      const tls = await files(await pemFolder(t));
      await chmod(tls.key, mode);
      await assert.rejects(loadTlsMaterial(tls), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(
          error.message,
          `--tls-key ${tls.key}: the private key is accessible to ${who} (mode 0${mode.toString(8)}); anyone who can read it can impersonate this agent. Make it private to the agent's account: chmod 600 ${tls.key}`,
        );
        return true;
      });
    });
  }

  it("quotes a path with spaces in the command", () => {
    assert.match(
      posixKeyProblem("/etc/wms fleet/agent.key", 0o100644) ?? "",
      /chmod 600 '\/etc\/wms fleet\/agent\.key'$/,
    );
  });

  it("checks the key only, not the certificates (which are public)", async (t) => {
    const tls = await files(await pemFolder(t));
    await chmod(tls.cert, 0o644);
    await chmod(tls.ca, 0o644);
    await loadTlsMaterial(tls);
  });
});

describe("the agent's key on Windows: its DACL as SDDL", () => {
  const KEY = "C:\\ProgramData\\wmsfleet\\tls\\agent.key";

  it("refuses a key that inherits Users' read access from C:\\ProgramData", async (t) => {
    const tls = await files(await pemFolder(t));
    // What a file placed in C:\ProgramData\wmsfleet before any icacls carries.
    const sddl = "O:BAG:SYD:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)";
    await assert.rejects(
      loadTlsMaterial(tls, {
        keyAccess: { platform: "win32", readSddl: () => Promise.resolve(sddl) },
      }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(
          error.message,
          `--tls-key ${tls.key}: the private key is readable by Users (S-1-5-32-545); anyone in that group can impersonate this agent. From an elevated prompt: ${windowsKeyFixCommand(tls.key)}`,
        );
        return true;
      },
    );
  });

  it("accepts a key only SYSTEM and Administrators can read, and says what it read", async (t) => {
    const tls = await files(await pemFolder(t));
    const read: string[] = [];
    const sddl = "O:BAD:PAI(A;;FA;;;SY)(A;;FA;;;BA)";
    await loadTlsMaterial(tls, {
      keyAccess: {
        platform: "win32",
        readSddl: (path) => (read.push(path), Promise.resolve(sddl)),
      },
    });
    assert.deepEqual(read, [tls.key]);
  });

  it("refuses when the permissions cannot be read, rather than guess", async (t) => {
    const tls = await files(await pemFolder(t));
    await assert.rejects(
      loadTlsMaterial(tls, {
        keyAccess: {
          platform: "win32",
          readSddl: () =>
            Promise.reject(new Error("GetNamedSecurityInfoW failed with Win32 error 5")),
        },
      }),
      /--tls-key .*: cannot read the file's permissions to check that only administrators can read it: GetNamedSecurityInfoW failed with Win32 error 5/,
    );
  });

  const cases: [string, string, string[]][] = [
    ["SYSTEM and Administrators only", "O:SYD:PAI(A;;FA;;;SY)(A;;FA;;;BA)", []],
    ["Everyone, by SID and hex mask", "D:(A;;0x120089;;;S-1-1-0)", ["Everyone"]],
    ["Authenticated Users, FR", "D:(A;;FR;;;AU)", ["Authenticated Users"]],
    ["Users by SID", "D:(A;;GR;;;S-1-5-32-545)", ["Users"]],
    [
      "all three",
      "D:(A;;FA;;;WD)(A;;GA;;;AU)(A;;CCLCRC;;;BU)",
      ["Users", "Everyone", "Authenticated Users"],
    ],
    ["Users may change the DACL (read one step later)", "D:(A;;WD;;;BU)", ["Users"]],
    ["Users may take ownership", "D:(A;;0x80000;;;BU)", ["Users"]],
    ["Users may read attributes and the DACL only", "D:(A;;0x20080;;;BU)", []],
    ["Users may execute (FX has no read data)", "D:(A;;FX;;;BU)", []],
    ["an inherit-only entry applies to children, not the file", "D:(A;OICIIO;FA;;;BU)", []],
    ["a deny before the allow", "D:(D;;FA;;;BU)(A;;FR;;;BU)", []],
    ["a deny of writes only", "D:(D;;FW;;;WD)(A;;FR;;;WD)", ["Everyone"]],
    ["a null DACL gives everyone everything", "O:BAD:NO_ACCESS_CONTROL", ["Everyone"]],
    ["an entry for another group", "D:(A;;FA;;;S-1-5-21-1-2-3-1001)", []],
    ["a SACL after the DACL is not read as one", "D:(A;;FA;;;SY)S:(AU;SA;FR;;;WD)", []],
  ];
  for (const [name, sddl, readers] of cases) {
    it(name, () => {
      assert.deepEqual(
        broadReadersOf(sddl).map((r) => r.name),
        readers,
      );
    });
  }

  it("reads SDDL rights as hex, decimal and two-letter codes, and refuses what it does not know", () => {
    assert.equal(parseSddlRights("0x1200A9"), 0x1200a9);
    assert.equal(parseSddlRights("1179817"), 0x1200a9);
    assert.equal(parseSddlRights("FA"), 0x1f01ff);
    assert.equal(parseSddlRights("CCRC"), 0x20001);
    assert.throws(() => parseSddlRights("ZZ"), /unknown SDDL right "ZZ"/);
    assert.throws(() => parseSddlRights("F"), /not two-letter codes/);
  });

  it("fixes by SID, so the command works on every language of Windows", () => {
    assert.equal(
      windowsKeyFixCommand(KEY),
      'icacls "C:\\ProgramData\\wmsfleet\\tls\\agent.key" /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F /remove:g *S-1-5-32-545 *S-1-1-0 *S-1-5-11',
    );
  });
});
