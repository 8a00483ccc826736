#!/usr/bin/env node
// wms-agent: the bundle made at `npm ci` when it is fresh (see fresh-bundle.js), otherwise the
// TypeScript sources through tsx, so `npm ci` is the only set-up.
import { freshBundle } from "./fresh-bundle.js";

const bundle = freshBundle("wms-agent");
let main;
if (bundle !== undefined) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../agent/main.ts"));
}
process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
