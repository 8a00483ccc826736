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
import {
  TargetError,
  createController,
  credentials,
  type Controller,
  type ControllerOptions,
  type GraceClock,
  type Target,
} from "../controller/index.js";
import { createApiServer, securityHeaders, type ApiServerOptions } from "./api/server.js";
import { actionsRoute } from "./api/routes/actions-route.js";
import { eventsRoute } from "./api/routes/events-route.js";
import { metricsRoute } from "./api/routes/metrics-route.js";
import { createConsoleMetrics } from "./metrics/console-metrics.js";
import { fleetRoutes } from "./api/routes/fleet-routes.js";
import { historyRoutes } from "./api/routes/history-routes.js";
import { policyRoutes } from "./api/routes/policy-routes.js";
import { DEFAULT_UI_DIR, uiRoutes } from "./api/routes/ui-route.js";
import { ConsoleConfigError, type ResolvedConsoleConfig } from "./config/options.js";
import { createFleet, type Fleet, type FleetOptions } from "./fleet/fleet.js";
import { loadTargets, watchInventory, type InventoryWatch } from "./fleet/inventory.js";
import { createHistoryRecorder, type HistoryRecorder } from "./history/recorder.js";
import { startHistoryRetention } from "./history/retention.js";
import { startAuditRetention } from "./audit/retention.js";
import { createPolicyRunner, type PolicyRunner } from "./policies/runner.js";
import { createPolicyScheduler, type PolicyScheduler } from "./policies/scheduler.js";
import { StoreOpenError, openSqliteStore } from "./store/sqlite-store.js";
import type { ConsoleStore } from "./store/store.js";
import { DEFAULT_SESSION_IDLE_MS, DEFAULT_SESSION_MAX_AGE_MS } from "./security/web-sessions.js";
import { MAX_TRACKED_KEYS, createLoginGuard, type LoginGuard } from "./security/login-guard.js";

/** Milliseconds between sweeps of ended web sessions out of the store. */
export const SESSION_SWEEP_MS = 10 * 60_000;

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

/** Reads every inventory file into the hosts; a bad one is a configuration error. */
export async function loadInventories(
  paths: readonly string[],
  loopbackOnly: boolean,
): Promise<Target[]> {
  try {
    return await loadTargets(paths, loopbackOnly);
  } catch (error) {
    if (error instanceof TargetError) throw new ConsoleConfigError(`--inventory ${error.message}`);
    throw error;
  }
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
  readonly fleet: Fleet;
  readonly controller: Controller;
  /** The session history's recorder. */
  readonly history: HistoryRecorder;
  readonly policyRunner: PolicyRunner;
  readonly scheduler: PolicyScheduler;
  /** Reads the inventory files again (SIGHUP). */
  reload(reason: string): Promise<void>;
  /** Stops serving (connections and event streams closed), the watches, then the store. */
  close(): Promise<void>;
}

/** Options of {@link startConsole} beyond the configuration. */
export interface StartConsoleOptions {
  readonly config: ResolvedConsoleConfig;
  readonly logger: Logger;
  /** Server options for tests (clock, login limits, session times). */
  readonly server?: Partial<Omit<ApiServerOptions, "store" | "logger" | "https">>;
  /** Controller options beyond the credentials (tests: shorter delays). */
  readonly controller?: Partial<Omit<ControllerOptions, "credentials">>;
  /** Fleet options beyond the controller and logger. */
  readonly fleet?: Partial<Omit<FleetOptions, "controller" | "logger">>;
  /** The web UI's folder. @default {@link DEFAULT_UI_DIR} (`dist/console-ui/`) */
  readonly uiDir?: string;
  /**
   * Clocks and timers of the history and the policies, for tests: `timers: false` leaves the
   * history's writes, idle checks and the scheduler's ticks to the test (`history.flush()`,
   * `scheduler.tick()`); `now` is their wall clock; `graceClock` the warnings' grace periods (of policies and of
   * `POST /api/v1/actions`).
   */
  readonly background?: {
    readonly now?: () => number;
    readonly timers?: boolean;
    readonly graceClock?: GraceClock;
  };
}

/**
 * The login guard, its locks kept in `store`: started from the locks that have not ended, each
 * lock set or lifted written as it happens, and a lock the guard meets asked of the store (one
 * read by the key), so that a lock lifted by another process (`wms-console user unlock`, another
 * console) no longer holds here. A failed write is logged and the lock holds in memory until it
 * ends (the store is not asked about it: it never had it); a failed read keeps the lock.
 */
async function storedLoginGuard(store: ConsoleStore, logger: Logger): Promise<LoginGuard> {
  const locks = await store.loginLocks(new Date());
  /** Names whose lock could not be written, and when it ends (ms); bounded like the guard. */
  const unwritten = new Map<string, number>();
  return createLoginGuard({
    locks: locks.map((lock) => ({ name: lock.name, untilMs: lock.until.getTime() })),
    onLockChange(name, untilMs) {
      unwritten.delete(name);
      const kept =
        untilMs === undefined
          ? store.removeLoginLock(name)
          : store.setLoginLock({ name, until: new Date(untilMs) });
      kept.catch((error: unknown) => {
        logger.error({ err: error, user: name }, "cannot keep a login lock in the store");
        if (untilMs === undefined) return;
        unwritten.set(name, untilMs);
        const oldest = unwritten.keys().next().value;
        if (unwritten.size > MAX_TRACKED_KEYS && oldest !== undefined) unwritten.delete(oldest);
      });
    },
    async lockHeld(name) {
      const until = unwritten.get(name);
      if (until !== undefined && until > Date.now()) return true;
      unwritten.delete(name);
      try {
        return (await store.loginLock(name)) !== undefined;
      } catch (error) {
        logger.error(
          { err: error, user: name },
          "cannot read a login lock from the store: it holds",
        );
        return true;
      }
    },
  });
}

/**
 * Checks the configuration's files, opens the store and serves.
 * @throws ConsoleConfigError for any bad file or value, before anything is bound.
 */
export async function startConsole(options: StartConsoleOptions): Promise<RunningConsole> {
  const { config, logger } = options;
  if (config.insecureLoopback) await checkLoopbackListen(config.listen.host);
  const tls = await loadTls(config);
  const targets = await loadInventories(config.inventories, tls.agent === undefined);
  let store: ConsoleStore;
  try {
    store = openSqliteStore({ dataDir: config.dataDir });
  } catch (error) {
    if (error instanceof StoreOpenError)
      throw new ConsoleConfigError(`--data-dir ${error.message}`);
    throw error;
  }
  let loginGuard: LoginGuard;
  try {
    loginGuard = options.server?.loginGuard ?? (await storedLoginGuard(store, logger));
  } catch (error) {
    await store.close();
    throw error;
  }
  const controller = createController({
    ...options.controller,
    credentials:
      tls.agent === undefined
        ? credentials.createInsecure()
        : credentials.createSsl(tls.agent.ca, tls.agent.key, tls.agent.cert),
  });
  const fleet = createFleet({
    ...options.fleet,
    controller,
    logger: logger.child({ part: "fleet" }),
  });
  const metrics = createConsoleMetrics(fleet);
  const background = options.background ?? {};
  const now = background.now ?? Date.now;
  const history = createHistoryRecorder({
    store,
    fleet,
    logger: logger.child({ part: "history" }),
    // Called by the recorder's timer only, once the scheduler below exists.
    idleThresholdsMs: () => policyScheduler.idleThresholdsMs(),
    now,
    ...(background.timers === undefined ? {} : { timers: background.timers }),
  });
  const stopRetention = startHistoryRetention({
    store,
    days: config.historyDays,
    logger: logger.child({ part: "history" }),
    now,
  });
  const stopAuditRetention = startAuditRetention({
    store,
    days: config.auditDays,
    logger: logger.child({ part: "audit" }),
    now,
  });
  const policyRunner = createPolicyRunner({
    controller,
    fleet,
    disconnectedSince: (host, sessionId) => history.disconnectedSince(host, sessionId),
    now,
    ...(background.graceClock === undefined ? {} : { graceClock: background.graceClock }),
  });
  const policyScheduler: PolicyScheduler = createPolicyScheduler({
    store,
    runner: policyRunner,
    logger: logger.child({ part: "policies" }),
    now,
    ...(background.timers === undefined ? {} : { timers: background.timers }),
  });
  let endStreams = () => {};
  const app = createApiServer({
    ...options.server,
    loginGuard,
    store,
    logger,
    https: tls.https,
    routes: [
      (server) => fleetRoutes(server, fleet),
      (server) =>
        actionsRoute(server, {
          store,
          fleet,
          controller,
          security: securityHeaders(tls.https !== undefined),
          graceClock: background.graceClock,
          onResult: (action, whatIf, result, outcomes) =>
            metrics.recordAction(action, whatIf, result, outcomes),
        }),
      (server) => metricsRoute(server, metrics),
      (server) => historyRoutes(server, store, now),
      (server) =>
        policyRoutes(server, { store, runner: policyRunner, scheduler: policyScheduler, now }),
      (server) => {
        endStreams = eventsRoute(server, fleet, securityHeaders(tls.https !== undefined));
      },
      ...(options.server?.routes ?? []),
      (server) => uiRoutes(server, options.uiDir ?? DEFAULT_UI_DIR),
    ],
  });
  const inventory: InventoryWatch = watchInventory({
    paths: config.inventories,
    loopbackOnly: tls.agent === undefined,
    fleet,
    logger: logger.child({ part: "inventory" }),
  });
  const stopAll = async () => {
    inventory.close();
    endStreams();
    await app.close();
    await policyScheduler.close();
    stopRetention();
    stopAuditRetention();
    await fleet.close();
    await history.close();
    controller.close();
    await store.close();
  };
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (error) {
    await stopAll();
    throw error;
  }
  fleet.setTargets(targets);
  if (targets.length === 0) logger.warn("no hosts to watch: give --inventory FILE");
  const idleMs = options.server?.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
  const maxAgeMs = options.server?.sessionMaxAgeMs ?? DEFAULT_SESSION_MAX_AGE_MS;
  const sweep = setInterval(() => {
    const time = Date.now();
    store
      .removeStaleWebSessions(new Date(time - idleMs), new Date(time - maxAgeMs))
      .catch((error: unknown) => logger.warn({ err: error }, "cannot sweep ended web sessions"));
  }, SESSION_SWEEP_MS);
  sweep.unref();
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
  const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
  const url = `${tls.https === undefined ? "http" : "https"}://${host}:${port}`;
  return {
    url,
    store,
    app,
    fleet,
    controller,
    history,
    policyRunner,
    scheduler: policyScheduler,
    reload: (reason) => inventory.reload(reason),
    async close() {
      clearInterval(sweep);
      await stopAll();
    },
  };
}
