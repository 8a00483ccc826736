/**
 * The running console: the store opened (migrations run), the files of the configuration read and
 * checked, the HTTP(S) server listening. Everything that can be wrong with the configuration is
 * found before the port is bound ({@link ConsoleConfigError}: exit status 2).
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { lookup } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { isLoopbackAddress } from "../common/ip-address.js";
import { TargetError, readInventory, type InventoryEntry } from "../controller/index.js";
import { createApiServer, type ApiServerOptions } from "./api/server.js";
import { ConsoleConfigError, type ResolvedConsoleConfig } from "./config/options.js";
import { StoreOpenError, openSqliteStore } from "./store/sqlite-store.js";
import type { ConsoleStore } from "./store/store.js";

/** PEM files read and checked. */
export interface LoadedTls {
  readonly https: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly agent: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | undefined;
}

async function readPem(path: string, what: string, kind: "certificate" | "key"): Promise<Buffer> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (error) {
    throw new ConsoleConfigError(`${what} ${path}: cannot read it: ${(error as Error).message}`);
  }
  try {
    if (kind === "certificate") new X509Certificate(content);
    else createPrivateKey(content);
  } catch {
    throw new ConsoleConfigError(
      `${what} ${path}: not a PEM ${kind === "certificate" ? "certificate" : "private key (unencrypted)"}`,
    );
  }
  return content;
}

/** Reads the certificate and key files of the configuration, refusing unusable ones. */
export async function loadTls(config: ResolvedConsoleConfig): Promise<LoadedTls> {
  const https =
    config.https === undefined
      ? undefined
      : {
          cert: await readPem(config.https.cert, "--tls-cert", "certificate"),
          key: await readPem(config.https.key, "--tls-key", "key"),
        };
  const agent =
    config.agentTls === undefined
      ? undefined
      : {
          ca: await readPem(config.agentTls.ca, "--ca", "certificate"),
          cert: await readPem(config.agentTls.cert, "--cert", "certificate"),
          key: await readPem(config.agentTls.key, "--key", "key"),
        };
  return { https, agent };
}

/** Reads every inventory file; a bad one is a configuration error. */
export async function loadInventories(paths: readonly string[]): Promise<InventoryEntry[][]> {
  const inventories: InventoryEntry[][] = [];
  for (const path of paths) {
    try {
      inventories.push(await readInventory(path));
    } catch (error) {
      if (error instanceof TargetError)
        throw new ConsoleConfigError(`--inventory ${error.message}`);
      throw error;
    }
  }
  return inventories;
}

/** Refuses a listen address that is not loopback under `--insecure-loopback` (names resolved). */
export async function checkLoopbackListen(host: string): Promise<void> {
  let addresses: string[];
  try {
    addresses =
      isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch (error) {
    throw new ConsoleConfigError(`--listen: cannot resolve ${host}: ${(error as Error).message}`);
  }
  const outside = addresses.filter((address) => !isLoopbackAddress(address));
  if (addresses.length === 0 || outside.length > 0) {
    throw new ConsoleConfigError(
      `--insecure-loopback serves plain HTTP on loopback addresses only, but "${host}" is ${outside.join(", ") || "not an address"}; use --listen 127.0.0.1:PORT, or HTTPS (--tls-cert, --tls-key)`,
    );
  }
}

/** A console that is serving. */
export interface RunningConsole {
  /** Where it serves, e.g. `https://127.0.0.1:8443`. */
  readonly url: string;
  readonly store: ConsoleStore;
  readonly app: FastifyInstance;
  /** Stops serving (connections closed), then closes the store. */
  close(): Promise<void>;
}

/** Options of {@link startConsole} beyond the configuration. */
export interface StartConsoleOptions {
  readonly config: ResolvedConsoleConfig;
  readonly logger: Logger;
  /** Server options for tests (clock, login limits, session times). */
  readonly server?: Partial<Omit<ApiServerOptions, "store" | "logger" | "https">>;
}

/**
 * Checks the configuration's files, opens the store and serves.
 * @throws ConsoleConfigError for any bad file or value, before anything is bound.
 */
export async function startConsole(options: StartConsoleOptions): Promise<RunningConsole> {
  const { config, logger } = options;
  if (config.insecureLoopback) await checkLoopbackListen(config.listen.host);
  const tls = await loadTls(config);
  await loadInventories(config.inventories);
  let store: ConsoleStore;
  try {
    store = openSqliteStore({ dataDir: config.dataDir });
  } catch (error) {
    if (error instanceof StoreOpenError)
      throw new ConsoleConfigError(`--data-dir ${error.message}`);
    throw error;
  }
  const app = createApiServer({
    ...options.server,
    store,
    logger,
    https: tls.https,
  });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (error) {
    await store.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
  const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
  const url = `${tls.https === undefined ? "http" : "https"}://${host}:${port}`;
  return {
    url,
    store,
    app,
    async close() {
      await app.close();
      await store.close();
    },
  };
}
