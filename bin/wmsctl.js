#!/usr/bin/env node
// wmsctl: runs the TypeScript sources through tsx, so `npm ci` is the only set-up.
import { register } from "tsx/esm/api";

register();
await import("../controller/cli/entry.ts");
