/**
 * Whether an agent's answer speaks for the host asked: every answer names its host, and the
 * controller takes it as the target's only when it is that host (unary calls and watches alike).
 */
import { canonicalHostName } from "../common/host-name.js";

/**
 * Whether an answer naming `answered` speaks for the target `fqdn`: the same name, without case
 * or a trailing dot. An agent asked as `localhost` (or a name under `.localhost`) answers with its
 * own name, and may: it accepts that name only from a loopback peer (DESIGN section 2).
 */
export function answersFor(fqdn: string, answered: string): boolean {
  if (fqdn === "localhost" || fqdn.endsWith(".localhost")) return answered !== "";
  return canonicalHostName(answered) === fqdn;
}
