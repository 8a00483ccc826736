/**
 * Reloading the agent's configuration while it runs (SIGHUP on Unix): the same sources are read
 * again (flags as given at start, `WMSFLEET_*` variables, the config file), checked as at
 * start-up, and applied all at once — or, if anything is wrong, not at all: the agent keeps the
 * configuration it had and logs why.
 *
 * Reloaded: the allow-list (`allow`), the TLS certificate, key and CA (files read again, paths
 * may change; open connections keep the old ones, new handshakes use the new ones), the audit log
 * (reopened, so a rotated file is recreated; its path may change), `logLevel` and
 * `shutdownGrace`. Not reloaded (a restart is needed, and the log says so): `listen`,
 * `hostFqdn`, `backend`, `simFixture`, `insecureLoopback` or turning TLS on or off, and turning
 * the audit log on or off.
 */
import type { Logger } from "pino";
import type { FileAuditSink } from "../audit/audit-file.js";
import type { AccessPolicy } from "../security/authorization.js";
import type { ResolvedAgentConfig } from "./options.js";
import type { ReloadableTlsCredentials } from "../security/tls-credentials.js";
import { hostNameWarning, loadTlsMaterial, type TlsMaterial } from "../security/tls.js";

/** What a reload acts on. */
export interface ReloadTargets {
  /** Reads and resolves the configuration again, from the same sources as at start-up. */
  readonly load: () => Promise<ResolvedAgentConfig>;
  /** The access policy under mutual TLS; `undefined` with insecure loopback. */
  readonly policy: AccessPolicy | undefined;
  readonly tls: ReloadableTlsCredentials | undefined;
  readonly audit: FileAuditSink | undefined;
  readonly logger: Logger;
  /** Sets the grace period the next shutdown uses. */
  readonly setGraceMs: (graceMs: number) => void;
}

/** What a successful reload did. */
export interface ReloadReport {
  /** The settings applied (those that can change at run time). */
  readonly applied: readonly string[];
  /** Settings that changed but only take effect after a restart. */
  readonly needsRestart: readonly string[];
}

/** Reloads on demand; reloads never overlap (a request during one runs after it). */
export interface ConfigReloader {
  /** Reloads; resolves to the report, or `undefined` when the reload failed (and was logged). */
  reload(): Promise<ReloadReport | undefined>;
  /** The configuration in force. */
  current(): ResolvedAgentConfig;
}

/** Settings that only a restart changes, and how to tell they changed. */
const RESTART_SETTINGS: readonly [string, (c: ResolvedAgentConfig) => unknown][] = [
  ["listen", (c) => c.listen.text],
  ["hostFqdn", (c) => c.hostFqdn],
  ["backend", (c) => c.backend],
  ["simFixture", (c) => c.simFixture],
  [
    "simActivity",
    (c) => (c.simActivity === undefined ? undefined : (c.simActivity.seed ?? "random")),
  ],
  ["insecureLoopback", (c) => c.insecureLoopback],
  ["tls (on or off)", (c) => c.tls === undefined],
  ["auditLog (on or off)", (c) => c.auditLog === undefined],
];

/** Makes the reloader of a running agent started with `initial`. */
export function createConfigReloader(
  initial: ResolvedAgentConfig,
  targets: ReloadTargets,
): ConfigReloader {
  let current = initial;
  let queue: Promise<unknown> = Promise.resolve();

  async function apply(): Promise<ReloadReport> {
    const next = await targets.load();
    const needsRestart = RESTART_SETTINGS.filter(([, value]) => value(next) !== value(current)).map(
      ([name]) => name,
    );

    // Everything that can fail comes first; nothing is applied until all of it has succeeded.
    let material: TlsMaterial | undefined;
    if (targets.tls !== undefined && next.tls !== undefined) {
      material = await loadTlsMaterial(next.tls);
    }
    const applied: string[] = [];
    if (targets.audit !== undefined && next.auditLog !== undefined) {
      await targets.audit.reopen(next.auditLog);
      applied.push("auditLog");
    }

    if (targets.policy !== undefined) {
      targets.policy.update(next.allow);
      applied.push("allow");
    }
    if (material !== undefined) {
      targets.tls?.update(material);
      applied.push("tls");
    }
    targets.logger.level = next.logLevel;
    targets.setGraceMs(next.shutdownGraceMs);
    applied.push("logLevel", "shutdownGrace");

    current = {
      ...current,
      allow: targets.policy === undefined ? current.allow : next.allow,
      tls: material === undefined ? current.tls : next.tls,
      auditLog: targets.audit === undefined ? current.auditLog : next.auditLog,
      logLevel: next.logLevel,
      shutdownGraceMs: next.shutdownGraceMs,
    };

    for (const warning of material?.warnings ?? []) targets.logger.warn(warning);
    const mismatch =
      material === undefined ? undefined : hostNameWarning(material, current.hostFqdn);
    if (mismatch !== undefined) targets.logger.warn(mismatch);
    if (needsRestart.length > 0) {
      targets.logger.warn(
        { needsRestart },
        `changed settings that only take effect after a restart: ${needsRestart.join(", ")}`,
      );
    }
    targets.logger.info(
      {
        applied,
        needsRestart,
        allow: [...current.allow].map(([identity, role]) => `${identity}=${role}`),
        ...(material === undefined
          ? {}
          : {
              certificate: material.summary.subject,
              certificateNotAfter: material.summary.notAfter,
              certificateFingerprint: material.summary.fingerprint256,
            }),
        ...(current.auditLog === undefined ? {} : { auditLog: current.auditLog }),
      },
      "configuration reloaded",
    );
    return { applied, needsRestart };
  }

  return {
    current: () => current,
    reload() {
      const run = queue.then(apply).catch((error: unknown) => {
        targets.logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          "configuration reload failed; the previous configuration stays in force",
        );
        return undefined;
      });
      queue = run;
      return run;
    },
  };
}
