// The bundled fast path of bin/wmsctl.js and bin/wms-agent.js: dist/NAME.mjs, made at `npm ci`
// by scripts/bundle.js, is used only while no project source it was built from has changed
// since (an edited checkout never runs stale code) and every chunk it may load is there;
// WMSFLEET_NO_BUNDLE=1 turns it off.
import { readFileSync, statSync } from "node:fs";

/** The URL of dist/NAME.mjs when it is fresh, `undefined` otherwise. */
export function freshBundle(name) {
  if (process.env.WMSFLEET_NO_BUNDLE === "1") return undefined;
  const root = new URL("../", import.meta.url);
  try {
    const bundle = new URL(`dist/${name}.mjs`, root);
    const manifest = JSON.parse(readFileSync(new URL(`dist/${name}.inputs.json`, root), "utf8"));
    const started = Date.parse(manifest.started);
    if (!(started <= statSync(bundle).mtimeMs) || !Array.isArray(manifest.inputs)) return undefined;
    for (const input of manifest.inputs) {
      if (statSync(new URL(input, root)).mtimeMs >= started) return undefined;
    }
    // The chunks, loaded later by the commands that need them (a bundle made before chunks has
    // no list); a missing or older one is from another build.
    for (const output of manifest.outputs ?? []) {
      if (!(statSync(new URL(`dist/${output}`, root)).mtimeMs >= started)) return undefined;
    }
    return bundle.href;
  } catch {
    return undefined; // no bundle, or a source was removed
  }
}
