/**
 * The names `wmsctl pki` certifies and the files it names after them: agent names are host names
 * under the controller's own rules (RFC 1123, lowercased, trailing dot dropped — the same
 * normalisation `wmsctl -s` applies, so a certificate always matches the name wmsctl dials);
 * client names are the identities the agent's `--allow IDENTITY=ROLE` lists.
 */
import { isIP } from "node:net";
import { normalizeHostName } from "../host-name.js";
import { PkiError } from "./pki-error.js";

/** The longest client name: X.520's upper bound for a common name. */
export const MAX_CLIENT_NAME_LENGTH = 64;

/** Letters, digits, `.`, `_`, `-`; starting with a letter or digit (so never `.` or `..`). */
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Base names the PKI directory uses for itself. */
const RESERVED_NAMES = new Set(["ca"]);

/**
 * Validates and normalises an agent's host name for its certificate (DNS SAN and CN).
 * @throws PkiError naming the input and what is wrong with it (IP addresses included: they go in
 *   `ipAddresses`, next to a name).
 */
export function agentCertificateName(input: string): string {
  let name: string;
  try {
    name = normalizeHostName(input);
  } catch (error) {
    throw new PkiError(`agent name: ${(error as Error).message}`, { cause: error });
  }
  if (RESERVED_NAMES.has(name)) {
    throw new PkiError(`agent name: "${input}" is reserved for the CA's own files`);
  }
  return name;
}

/**
 * Validates a client name: the subject CN of a client certificate, which the agent reads as the
 * caller's identity (`--allow NAME=operator`). Case is kept: identities compare exactly.
 * @throws PkiError saying which rule the name breaks.
 */
export function clientCertificateName(input: string): string {
  if (input.length === 0) throw new PkiError("client name: empty");
  if (input.length > MAX_CLIENT_NAME_LENGTH) {
    throw new PkiError(
      `client name: "${input}" is ${input.length} characters long; at most ${MAX_CLIENT_NAME_LENGTH} are allowed`,
    );
  }
  if (!CLIENT_NAME.test(input)) {
    throw new PkiError(
      `client name: "${input}" may hold only letters, digits, ".", "_" and "-", starting with a letter or digit (it is the identity in the agent's --allow NAME=ROLE)`,
    );
  }
  if (RESERVED_NAMES.has(input.toLowerCase())) {
    throw new PkiError(`client name: "${input}" is reserved for the CA's own files`);
  }
  return input;
}

/**
 * Validates IP addresses for an agent certificate's IP SANs (e.g. `127.0.0.1`, `::1` for a
 * development agent dialled by address).
 * @throws PkiError on anything that is not an IPv4 or IPv6 literal.
 */
export function certificateIpAddresses(inputs: readonly string[]): string[] {
  return inputs.map((input) => {
    if (isIP(input) === 0) throw new PkiError(`"${input}" is not an IP address`);
    return input.toLowerCase();
  });
}
