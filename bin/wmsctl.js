#!/usr/bin/env node
// wmsctl: the bundle made at `npm ci` when it is fresh (see fresh-bundle.js), otherwise the
// TypeScript sources through tsx, so `npm ci` is the only set-up.
import { freshBundle } from "./fresh-bundle.js";

const bundle = freshBundle("wmsctl");
if (bundle !== undefined) {
  await import(bundle);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../controller/cli/entry.ts");
}
