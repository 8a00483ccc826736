/**
 * `service install` refuses files that non-administrators can change: the judgement of SDDL owners
 * and DACLs, and the paths it judges (pure logic, any platform; the real advapi32 calls run in the
 * Wine tier, key-acl-wine.test.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  explainWritableInstall,
  findWritableInstallPaths,
  installPaths,
  untrustedWriters,
} from "../../agent/windows-service/install-safety.js";

const INSTALLER = "S-1-5-21-1-2-3-500";
const USER = "S-1-5-21-1-2-3-1001";

describe("who, besides administrators, could change a path", () => {
  const cases: [string, string, "installed" | "ancestor", string[]][] = [
    [
      "C:\\Program Files\\nodejs\\node.exe (TrustedInstaller, Users read and execute)",
      "O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464D:(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1200a9;;;BU)(A;ID;0x1200a9;;;AC)",
      "installed",
      [],
    ],
    [
      "a folder in a user profile (nvm-windows, fnm, volta)",
      `O:${USER}D:(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;${USER})`,
      "installed",
      [`owner ${USER}`, USER],
    ],
    [
      "Users with modify (a C:\\tools folder made by hand)",
      "O:BAD:(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1301bf;;;BU)",
      "installed",
      ["Users (S-1-5-32-545)"],
    ],
    [
      "Authenticated Users may append data (add a subfolder) to C:\\ itself",
      "O:SYD:(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;;0x4;;;AU)(A;OICIIO;SDGXGWGR;;;AU)",
      "ancestor",
      [],
    ],
    [
      "the same entry on a folder the service runs from",
      "O:SYD:(A;;0x4;;;AU)",
      "installed",
      ["Authenticated Users (S-1-5-11)"],
    ],
    [
      "Everyone may delete children of a folder above",
      "O:BAD:(A;;0x40;;;WD)",
      "ancestor",
      ["Everyone (S-1-1-0)"],
    ],
    [
      "Users may rewrite the DACL of a folder above",
      "O:BAD:(A;;WD;;;BU)",
      "ancestor",
      ["Users (S-1-5-32-545)"],
    ],
    [
      "the installing administrator's own files",
      `O:${INSTALLER}D:(A;;FA;;;${INSTALLER})`,
      "installed",
      [],
    ],
    ["an inherit-only entry for Users", "O:BAD:(A;OICIIO;FA;;;BU)", "installed", []],
    [
      "a deny of Users' writes before their allow",
      "O:BAD:(D;;FW;;;BU)(A;;FA;;;BU)",
      "installed",
      ["Users (S-1-5-32-545)"],
    ],
    [
      "a deny of all Users' rights before their allow",
      "O:BAD:(D;;FA;;;BU)(A;;FA;;;BU)",
      "installed",
      [],
    ],
    ["a null DACL", "O:BAD:NO_ACCESS_CONTROL", "installed", ["Everyone (S-1-1-0)"]],
  ];
  for (const [name, sddl, role, writers] of cases) {
    it(name, () => {
      assert.deepEqual(untrustedWriters(sddl, role, INSTALLER), writers);
    });
  }
});

describe("the paths service install judges", () => {
  it("node.exe, the agent's files and folders, then every folder above to the root, once each", () => {
    assert.deepEqual(
      installPaths(
        "C:\\Program Files\\nodejs\\node.exe",
        "C:\\Program Files\\wmsfleet\\bin\\wms-agent.js",
      ),
      [
        { path: "C:\\Program Files\\nodejs\\node.exe", role: "installed" },
        { path: "C:\\Program Files\\nodejs", role: "installed" },
        { path: "C:\\Program Files\\wmsfleet\\bin\\wms-agent.js", role: "installed" },
        { path: "C:\\Program Files\\wmsfleet\\bin", role: "installed" },
        { path: "C:\\Program Files\\wmsfleet", role: "installed" },
        { path: "C:\\Program Files\\wmsfleet\\package.json", role: "installed" },
        { path: "C:\\Program Files\\wmsfleet\\dist", role: "installed" },
        { path: "C:\\Program Files\\wmsfleet\\node_modules", role: "installed" },
        { path: "C:\\Program Files", role: "ancestor" },
        { path: "C:\\", role: "ancestor" },
      ],
    );
  });

  it("reports every path anyone else could change, and skips paths that do not exist", async () => {
    const read: string[] = [];
    const found = await findWritableInstallPaths(
      "C:\\Program Files\\nodejs\\node.exe",
      "C:\\Users\\bob\\wmsfleet\\bin\\wms-agent.js",
      {
        readSddl: (path) => {
          read.push(path);
          return Promise.resolve(
            path.startsWith("C:\\Users\\bob\\")
              ? `O:${USER}D:(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;${USER})`
              : "O:BAD:(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)",
          );
        },
        installerSid: () => Promise.resolve(INSTALLER),
        exists: (path) => !path.endsWith("\\dist"),
      },
    );
    assert.ok(!read.includes("C:\\Users\\bob\\wmsfleet\\dist"));
    assert.deepEqual(
      found.map((f) => f.path),
      [
        "C:\\Users\\bob\\wmsfleet\\bin\\wms-agent.js",
        "C:\\Users\\bob\\wmsfleet\\bin",
        "C:\\Users\\bob\\wmsfleet",
        "C:\\Users\\bob\\wmsfleet\\package.json",
        "C:\\Users\\bob\\wmsfleet\\node_modules",
      ],
    );
    assert.match(
      explainWritableInstall(found),
      /C:\\Users\\bob\\wmsfleet\\bin: owner S-1-5-21-1-2-3-1001, S-1-5-21-1-2-3-1001\n/,
    );
  });
});
