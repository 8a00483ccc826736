/**
 * The web UI: the static files of `dist/console-ui/` (`npm run build` makes them from
 * `console/ui/`), served as they are, read once at start-up. `/` is its `index.html`, and so is
 * any other GET path outside `/api/` without a file extension (the UI's own routes). Without a
 * built UI, `/` answers a short page that says how to build it; the API works either way.
 * The files are public: everything they show comes from the API, which needs a sign-in.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";
import { ApiError } from "../api-error.js";

/** Where `npm run build` puts the UI: `dist/console-ui/` of this checkout or package. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL("../../../dist/console-ui/", import.meta.url));

/** The largest file served, in bytes: the UI's bundle is tens of kilobytes. */
const MAX_UI_FILE_BYTES = 16 * 1024 * 1024;

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The pages' Content-Security-Policy: only the console's own scripts, styles and API; no frames,
 * no forms elsewhere, no inline script (the UI's index.html says the same in a meta tag).
 */
export const UI_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wms-console</title></head>
<body><h1>wms-console</h1>
<p>The web UI is not built yet: run <code>npm run build</code> in the wmsfleet folder (npm ci does it), then restart the console.</p>
<p>The JSON API works without it: see docs/console.md.</p></body></html>
`;

/** Reads the UI's files (top level of `dir`); undefined when there is no `index.html`. */
function readUi(dir: string): Map<string, Buffer> | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  if (!names.includes("index.html")) return undefined;
  const files = new Map<string, Buffer>();
  for (const name of names) {
    const path = join(dir, name);
    const info = statSync(path);
    if (!info.isFile() || info.size > MAX_UI_FILE_BYTES || TYPES[extname(name)] === undefined) {
      continue;
    }
    files.set(name, readFileSync(path));
  }
  return files;
}

/** Registers `/` and the UI's files from `dir`. */
export function uiRoutes(app: FastifyInstance, dir: string = DEFAULT_UI_DIR) {
  const files = readUi(dir);
  const send = (reply: FastifyReply, name: string, body: Buffer | string) =>
    reply
      .header("content-type", TYPES[extname(name)] ?? "application/octet-stream")
      .header("cache-control", "no-cache")
      .header("content-security-policy", UI_CONTENT_SECURITY_POLICY)
      .send(body);

  app.get("/", { config: { access: "public" } }, (_request, reply) =>
    send(reply, "index.html", files?.get("index.html") ?? NOT_BUILT),
  );
  app.get<{ Params: { "*": string } }>("/*", { config: { access: "public" } }, (request, reply) => {
    const path = request.params["*"];
    if (path.startsWith("api/")) {
      throw new ApiError(
        "not_found",
        `no GET /${path.split("?")[0] ?? ""} here (the API is under /api/v1/)`,
      );
    }
    const file = files?.get(path);
    if (file !== undefined) return send(reply, path, file);
    if (files !== undefined && extname(path) === "" && !path.includes("/.")) {
      return send(reply, "index.html", files.get("index.html") ?? NOT_BUILT);
    }
    throw new ApiError("not_found", `no file /${path} here`);
  });
}
