/**
 * The bench's authorizer: lets in one operator identity (the client certificate's subject CN),
 * refuses everyone else, as the agent's `--allow IDENTITY=operator` does. It stands in for the
 * agent's own certificate authorizer so that the bench pays a per-call identity check of the same
 * shape (read the peer certificate, look the identity up) until that one is importable.
 */
import { status as Status } from "@grpc/grpc-js";
import type { Authorizer } from "../agent/access.js";
import { RpcError } from "../agent/rpc-error.js";

/** An authorizer that allows `operator` (subject CN) every RPC. */
export function benchAuthorizer(operator: string): Authorizer {
  return ({ rpc, authContext }) => {
    const cn = authContext.sslPeerCertificate?.subject?.CN;
    const identity = Array.isArray(cn) ? cn[0] : cn;
    if (identity === undefined) {
      throw new RpcError(Status.UNAUTHENTICATED, `${rpc}: no client certificate`);
    }
    if (identity !== operator) {
      throw new RpcError(Status.PERMISSION_DENIED, `${rpc}: ${identity} is not allowed`);
    }
    return identity;
  };
}
