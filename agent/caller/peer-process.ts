/**
 * The port between protection rule 3 and the operating system: which processes hold the client's
 * end of a TCP connection to the agent. Linux answers from procfs and netlink
 * (`procfs-peer-process.ts`), Windows from its TCP table (`windows-peer-process.ts`).
 */
import type { TcpEndpoint } from "../../common/ip-address.js";

/**
 * The ids of the processes that hold the client's end of the connection from `peer` (the
 * client's address and port, as the agent sees them) to `local` (the agent's end; its address
 * may be the wildcard `::` or `0.0.0.0` when only the listening port is known, and then any
 * address matches). Several processes when the socket is shared (inherited, passed); none when
 * no process holds it any more (the connection closed, the process exited). Rejects when the
 * lookup itself fails: the caller then cannot be ruled out, never assumed absent.
 */
export type PeerProcessResolver = (peer: TcpEndpoint, local: TcpEndpoint) => Promise<number[]>;
