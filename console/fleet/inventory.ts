/**
 * The console's hosts: the inventory files (wmsctl's format), read at start-up and again when one
 * of them changes (watched through its folder, so an editor that replaces the file is seen too)
 * or on SIGHUP. A reload that fails (a file unreadable or malformed) changes nothing and is
 * logged; the hosts it adds and removes are logged and given to the fleet.
 */
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "pino";
import { isLoopbackAddress } from "../../common/ip-address.js";
import { TargetError, readInventory, resolveTargets, type Target } from "../../controller/index.js";
import type { Fleet, FleetChange } from "./fleet.js";

/**
 * Milliseconds a change of a file waits for more before the reload: an editor's save is several
 * events (truncate, write, rename) within a few milliseconds.
 */
export const RELOAD_DEBOUNCE_MS = 200;

/**
 * Reads every file into the list of hosts (none when there is no file). With `loopbackOnly`
 * (agents dialled without TLS), every host must be dialled at a loopback address: an inventory
 * line `NAME 127.0.0.1:PORT`, `[::1]:PORT` or `localhost:PORT`.
 * @throws TargetError naming the file, or the host that is not on this machine.
 */
export async function loadTargets(
  paths: readonly string[],
  loopbackOnly = false,
): Promise<Target[]> {
  if (paths.length === 0) return [];
  const inventories = [];
  for (const path of paths) inventories.push(await readInventory(path));
  const targets = resolveTargets({ inventories });
  if (loopbackOnly) {
    for (const target of targets) {
      const host = target.address.host;
      if (host !== "localhost" && !isLoopbackAddress(host)) {
        throw new TargetError(
          `${target.fqdn}: without --ca, --cert and --key the console dials agents without TLS, on loopback addresses only; give it as "${target.fqdn} 127.0.0.1:PORT" or give the console its agent credentials`,
        );
      }
    }
  }
  return targets;
}

/** Options of {@link watchInventory}. */
export interface InventoryOptions {
  readonly paths: readonly string[];
  /** Agents are dialled without TLS: every host must be on a loopback address. */
  readonly loopbackOnly: boolean;
  readonly fleet: Fleet;
  readonly logger: Logger;
  /** Told of each reload that changed something, or failed. */
  readonly onReload?: (result: FleetChange | Error) => void;
}

/** The inventory, watched. */
export interface InventoryWatch {
  /** Reads the files again now (SIGHUP); resolves when the fleet has the result. */
  reload(reason: string): Promise<void>;
  /** Stops watching. */
  close(): void;
}

/** Watches the inventory files and keeps the fleet's hosts in step with them. */
export function watchInventory(options: InventoryOptions): InventoryWatch {
  const { paths, fleet, logger } = options;
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const reloadNow = async (reason: string) => {
    let targets: Target[];
    try {
      targets = await loadTargets(paths, options.loopbackOnly);
    } catch (error) {
      logger.error({ reason, err: error }, "inventory reload failed: the hosts stay as they were");
      options.onReload?.(error as Error);
      return;
    }
    const change = fleet.setTargets(targets);
    if (change.added.length + change.removed.length + change.moved.length > 0) {
      logger.info({ reason, ...change, hosts: targets.length }, "inventory reloaded");
      options.onReload?.(change);
    }
  };
  const reload = (reason: string) => {
    running = running.then(() => reloadNow(reason));
    return running;
  };

  const folders = new Map<string, Set<string>>();
  for (const path of paths) {
    const absolute = resolve(path);
    const names = folders.get(dirname(absolute)) ?? new Set<string>();
    names.add(basename(absolute));
    folders.set(dirname(absolute), names);
  }
  for (const [folder, names] of folders) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, file) => {
        if (file !== null && !names.has(basename(file.toString()))) return;
        clearTimeout(timer);
        timer = setTimeout(() => void reload("file changed"), RELOAD_DEBOUNCE_MS);
      });
      watcher.on("error", (error) => logger.warn({ err: error, folder }, "inventory watch failed"));
      watchers.push(watcher);
    } catch (error) {
      logger.warn(
        { err: error, folder },
        "cannot watch the inventory's folder: reload with SIGHUP",
      );
    }
  }

  return {
    reload,
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
