/**
 * One TCP socket's inode by its exact 4-tuple, asked of the Linux kernel over netlink
 * (`NETLINK_SOCK_DIAG`, `SOCK_DIAG_BY_FAMILY` without `NLM_F_DUMP`): the exact lookup of
 * protection rule 3 on Linux (`procfs-peer-process.ts`).
 *
 * The kernel finds one socket by its 4-tuple in its hash table in microseconds, where
 * `/proc/net/tcp` prints every TCP socket of the machine. The table stays the fallback: when
 * netlink cannot be opened (a sandbox without it, koffi missing) or the exact lookup finds nothing
 * (the client connected to another local address than the one tried, a link-local address bound
 * to its interface), the resolver reads it.
 *
 * Node.js cannot open a netlink socket, so this calls libc's `socket`, `send` and `recv` through
 * koffi (`common/native/libc.ts`). The request is handled by the kernel inside `send`, so the answer is already
 * queued when `recv` runs with `MSG_DONTWAIT`: nothing here can block the event loop.
 */
import { addressBytes, isMappedIpv4, type TcpEndpoint } from "../../common/ip-address.js";
import { loadLibc, type Libc } from "../../common/native/libc.js";

/** What the kernel says of one socket. */
export interface DiagSocket {
  readonly inode: number;
  readonly uid: number;
  /** The kernel's TCP state (1 is ESTABLISHED). */
  readonly state: number;
}

/**
 * The socket whose local end is `local` and remote end `remote`, both with literal addresses;
 * `undefined` when there is none or the kernel could not be asked.
 */
export type ExactSocketLookup = (local: TcpEndpoint, remote: TcpEndpoint) => DiagSocket | undefined;

const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 1;
const MSG_DONTWAIT = 0x40;
const IPPROTO_TCP = 6;
const NLMSG_HEADER = 16;
/** `struct inet_diag_req_v2`: family, protocol, ext, pad, states, then `inet_diag_sockid`. */
const REQUEST_BODY = 56;
/** In `struct inet_diag_msg`: the state byte, the uid and the inode. */
const MSG_STATE = 1;
const MSG_UID = 64;
const MSG_INODE = 68;
const MSG_BODY = 72;

/**
 * The address as the 16 bytes of `inet_diag_sockid` (network order; IPv4 in the first four), and
 * its family; `undefined` for anything but a literal address.
 */
function diagAddress(address: string): { family: number; bytes: Buffer } | undefined {
  const parsed = addressBytes(address);
  if (parsed === undefined) return undefined;
  const bytes = Buffer.alloc(16);
  if (isMappedIpv4(parsed)) {
    // The kernel looks an IPv4-mapped pair up among IPv4 connections, where a dual-stack
    // client's connection to an IPv4 listener is: asking as IPv4 finds both kinds.
    bytes.set(parsed.subarray(12), 0);
    return { family: AF_INET, bytes };
  }
  bytes.set(parsed, 0);
  return { family: AF_INET6, bytes };
}

/** A lookup over an open netlink socket. */
function lookupOver(libc: Libc, fd: number): ExactSocketLookup {
  const request = Buffer.alloc(NLMSG_HEADER + REQUEST_BODY);
  const reply = Buffer.alloc(8192);
  let sequence = 0;
  return (local, remote) => {
    const source = diagAddress(local.address);
    const destination = diagAddress(remote.address);
    if (source === undefined || destination?.family !== source.family) return undefined;
    sequence = (sequence + 1) >>> 0;
    request.fill(0);
    request.writeUInt32LE(request.length, 0);
    request.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
    request.writeUInt16LE(NLM_F_REQUEST, 6);
    request.writeUInt32LE(sequence, 8);
    const body = NLMSG_HEADER;
    request[body] = source.family;
    request[body + 1] = IPPROTO_TCP;
    request.writeUInt32LE(0xffffffff, body + 4); // every state
    const id = body + 8;
    request.writeUInt16BE(local.port, id);
    request.writeUInt16BE(remote.port, id + 2);
    source.bytes.copy(request, id + 4);
    destination.bytes.copy(request, id + 20);
    request.writeUInt32LE(0xffffffff, id + 40); // INET_DIAG_NOCOOKIE
    request.writeUInt32LE(0xffffffff, id + 44);
    if (Number(libc.send(fd, request, request.length, 0)) !== request.length) return undefined;
    // The answer to this request; anything older still queued (an exchange cut short) is dropped.
    let length = -1;
    for (let attempt = 0; attempt < 8; attempt++) {
      length = Number(libc.recv(fd, reply, reply.length, MSG_DONTWAIT));
      if (length < NLMSG_HEADER || reply.readUInt32LE(8) === sequence) break;
    }
    if (length < NLMSG_HEADER || reply.readUInt32LE(8) !== sequence) return undefined;
    // NLMSG_ERROR: ENOENT, no such socket (or any other refusal): nothing known.
    if (reply.readUInt16LE(4) === NLMSG_ERROR) return undefined;
    if (reply.readUInt16LE(4) !== SOCK_DIAG_BY_FAMILY || length < NLMSG_HEADER + MSG_BODY) {
      return undefined;
    }
    return {
      state: reply[NLMSG_HEADER + MSG_STATE] ?? 0,
      uid: reply.readUInt32LE(NLMSG_HEADER + MSG_UID),
      inode: reply.readUInt32LE(NLMSG_HEADER + MSG_INODE),
    };
  };
}

let opened: Promise<ExactSocketLookup | undefined> | undefined;

/**
 * The process's exact lookup, opened on first use; `undefined` off Linux or when netlink or koffi
 * is not available (then every search reads `/proc/net/tcp`).
 */
export function sockDiagLookup(): Promise<ExactSocketLookup | undefined> {
  opened ??= open();
  return opened;
}

async function open(): Promise<ExactSocketLookup | undefined> {
  if (process.platform !== "linux") return undefined;
  try {
    const libc = await loadLibc();
    const fd = libc.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG) as number;
    return fd < 0 ? undefined : lookupOver(libc, fd);
  } catch {
    return undefined;
  }
}
