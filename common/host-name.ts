/**
 * Host names as both sides compare and check them. A host's FQDN is its identity: the agent
 * compares `expected_host` with its own name, the controller merges targets by name and verifies
 * TLS against it. Two spellings of one host (`H1.Lab.` and `h1.lab`) must compare equal, and a
 * name that is not an RFC 1123 host name is refused on both sides for the same reasons.
 */

/** Most characters in a host name (RFC 1123 2.1, RFC 1035 2.3.4), without the trailing dot. */
export const MAX_HOST_NAME_LENGTH = 253;
/** Most characters in one label of a host name (RFC 1035 2.3.4). */
export const MAX_HOST_LABEL_LENGTH = 63;

const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * The form in which two names of one host compare equal: lowercased, one trailing dot (the DNS
 * root) dropped. Checks nothing; see {@link hostNameProblem}.
 */
export function canonicalHostName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/**
 * What keeps a {@link canonicalHostName canonical} ASCII name from being an RFC 1123 host name
 * (letters, digits and inner hyphens; labels of 1..63 characters; at most 253 in all; not a
 * dotted number, RFC 1123 2.1), in words that can follow `"NAME": `; `undefined` when it is one.
 */
export function hostNameProblem(name: string): string | undefined {
  if (name === "") return "it is empty";
  if (name.length > MAX_HOST_NAME_LENGTH) {
    return `it is ${name.length} characters long; at most ${MAX_HOST_NAME_LENGTH} are allowed`;
  }
  const labels = name.split(".");
  for (const label of labels) {
    if (label === "") return "it has an empty label";
    if (label.length > MAX_HOST_LABEL_LENGTH) {
      return `the label "${label}" is longer than ${MAX_HOST_LABEL_LENGTH} characters`;
    }
    if (!LABEL.test(label)) {
      return `the label "${label}" may hold only letters, digits and inner hyphens`;
    }
  }
  if (labels.every((label) => /^\d+$/.test(label))) return "it is a dotted number, not a host name";
  return undefined;
}
