/**
 * The layout rules of STYLE.md: `agent/` and `controller/` never import each other; what both
 * need lives in `proto/gen` or in the small shared module `common/`, which imports neither.
 * `console/` uses the controller library (its public entry points only) and never the agent;
 * nothing imports the console. Checked on the sources' import specifiers.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

function sources(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(root, folder, file));
}

/** Every relative import of a file, resolved to a path inside the repository. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)];
  return specifiers.map((match) => relative(root, resolve(dirname(file), match[1] ?? "")));
}

/** Which top-level folders each folder's sources may import, besides itself and `proto/gen`. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  agent: ["common"],
  controller: ["common"],
  common: [],
  console: ["common", "controller"],
};

for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
  const forbidden = Object.keys(MAY_IMPORT).filter(
    (other) => other !== folder && !allowed.includes(other),
  );
  it(`${folder}/ never imports ${forbidden.map((other) => `${other}/`).join(" or ")}`, () => {
    const files = sources(folder);
    assert.ok(files.length >= 5, `found the ${folder} sources`);
    const offending = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => forbidden.some((other) => target.startsWith(`${other}/`)))
        .map((target) => `${relative(root, file)} imports ${target}`),
    );
    assert.deepEqual(offending, []);
  });
}

it("only common/native/ loads koffi: each library's functions and koffi's process-global types are declared once", () => {
  const offending = Object.keys(MAY_IMPORT)
    .flatMap((folder) => sources(folder))
    .filter((file) => !relative(root, file).startsWith("common/native/"))
    .filter((file) => /(?:from|import)\s*\(?\s*["']koffi["']/.test(readFileSync(file, "utf8")))
    .map((file) => relative(root, file));
  assert.deepEqual(offending, []);
  assert.match(readFileSync(join(root, "common/native/koffi.ts"), "utf8"), /import\("koffi"\)/);
});

it("the import check sees imports across folders (it would catch one)", () => {
  const imports = importsOf(join(root, "agent", "main.ts"));
  assert.ok(
    imports.some((target) => target.startsWith("common/")),
    imports.join(", "),
  );
});

it("agent/ keeps only its entry points at the root (the process, the command); each concern has its folder", () => {
  const atRoot = readdirSync(join(root, "agent"), { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => entry.name);
  assert.deepEqual(atRoot.sort(), ["entry.ts", "main.ts"]);
});

it("console/ uses the controller as a library: only its public entry points, never its internals", () => {
  const publicEntries = ["controller/index.ts", "controller/pki/index.ts"];
  const offending = sources("console").flatMap((file) =>
    importsOf(file)
      .map((target) => target.replace(/\.js$/, ".ts"))
      .filter((target) => target.startsWith("controller/") && !publicEntries.includes(target))
      .map((target) => `${relative(root, file)} imports ${target}`),
  );
  assert.deepEqual(offending, []);
});
