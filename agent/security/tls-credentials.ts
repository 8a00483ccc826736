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

/** Mutual TLS: client certificates are required and verified against the material's CA only. */
class MutualTlsServerCredentials extends ServerCredentials {
  constructor(material: TlsMaterial) {
    const cipherSuites = process.env["GRPC_SSL_CIPHER_SUITES"];
    super(
      {
        requestCert: true,
        rejectUnauthorized: true,
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

/** Makes the agent's mutual TLS credentials from checked material (see `loadTlsMaterial`). */
export function createTlsCredentials(material: TlsMaterial): ReloadableTlsCredentials {
  const credentials = new MutualTlsServerCredentials(material);
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
