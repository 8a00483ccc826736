/**
 * grpc-js server credentials for mutual TLS whose certificates can be replaced while the server
 * runs (SIGHUP), without dropping a connection or a call.
 *
 * grpc-js 1.14 gives every secure `ServerCredentials` a list of watchers: each bound HTTP/2
 * server registers one, and `updateSecureContextOptions` (protected, declared in grpc-js's typings)
 * hands them new options, which they apply with Node's `tls.Server.setSecureContext`. That
 * affects handshakes from then on only; open connections, and the calls on them, keep the context
 * they were made with. `ServerCredentials.createSsl` offers no way to update, and the
 * experimental certificate-provider credentials read their first options only after the server
 * has been created (a provider that answers synchronously leaves the server refusing every
 * connection until the next update), so the agent subclasses `ServerCredentials` the way grpc-js's
 * own `SecureServerCredentials` does, and pushes each checked {@link TlsMaterial} as one update.
 */
import type { SecureContextOptions } from "node:tls";
import { ServerCredentials } from "@grpc/grpc-js";
import type { TlsMaterial } from "./tls.js";

/** Server credentials for mutual TLS, and the way to replace their certificates. */
export interface ReloadableTlsCredentials {
  /** Pass to `startAgent({ credentials })`. */
  readonly credentials: ServerCredentials;
  /** The material in use. */
  current(): TlsMaterial;
  /** Uses `material` for every handshake from now on; connections already open are kept. */
  update(material: TlsMaterial): void;
}

/** Options of {@link createTlsCredentials}. */
export interface TlsCredentialsOptions {
  /**
   * Milliseconds a client has to complete the TLS handshake after connecting; a connection that
   * has not is closed (Node's `handshakeTimeout`, 120 s by default).
   * @default 10000 — a handshake takes one or two round trips and a few milliseconds of CPU, so
   *   10 s is ample for a loaded host or a slow WAN link, while thousands of connections that
   *   never start TLS are gone within seconds instead of holding descriptors for two minutes.
   */
  readonly handshakeTimeoutMs?: number;
}

/** The default of {@link TlsCredentialsOptions.handshakeTimeoutMs}. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Mutual TLS: client certificates are required and verified against the material's CA only. */
class MutualTlsServerCredentials extends ServerCredentials {
  constructor(material: TlsMaterial, handshakeTimeoutMs: number) {
    const cipherSuites = process.env["GRPC_SSL_CIPHER_SUITES"];
    super(
      {
        requestCert: true,
        rejectUnauthorized: true,
        handshakeTimeout: handshakeTimeoutMs,
        // The same cipher override grpc-js's createSsl honours.
        ...(cipherSuites === undefined ? {} : { ciphers: cipherSuites }),
      },
      contextOptions(material),
    );
  }

  replace(material: TlsMaterial): void {
    this.updateSecureContextOptions(contextOptions(material));
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

function contextOptions(material: TlsMaterial): SecureContextOptions {
  // `ca` replaces Node's default list: public roots are never trusted.
  return { ca: material.ca, cert: material.certChain, key: material.privateKey };
}

/**
 * Makes the agent's mutual TLS credentials from checked material (see `loadTlsMaterial`).
 * @throws TypeError when `handshakeTimeoutMs` is not a positive integer of milliseconds.
 */
export function createTlsCredentials(
  material: TlsMaterial,
  options: TlsCredentialsOptions = {},
): ReloadableTlsCredentials {
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (
    !Number.isSafeInteger(handshakeTimeoutMs) ||
    handshakeTimeoutMs < 1 ||
    handshakeTimeoutMs > 2_147_483_647
  ) {
    throw new TypeError(
      `handshakeTimeoutMs must be an integer in 1..2147483647, not ${handshakeTimeoutMs}`,
    );
  }
  const credentials = new MutualTlsServerCredentials(material, handshakeTimeoutMs);
  let current = material;
  return {
    credentials,
    current: () => current,
    update(next) {
      credentials.replace(next);
      current = next;
    },
  };
}
