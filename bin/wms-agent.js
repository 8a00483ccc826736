#!/usr/bin/env node
// wms-agent: runs the TypeScript sources through tsx, so `npm ci` is the only set-up.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../agent/main.ts");
process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
