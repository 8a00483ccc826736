/**
 * libc (`libc.so.6`): the socket calls with which protection rule 3 asks the Linux kernel for one
 * socket over netlink (`agent/caller/sock-diag.ts`); Node.js cannot open a netlink socket. Buffers
 * are passed as bytes, so no type is declared.
 */
import { loadKoffi, loadOnce, type NativeFunction } from "./koffi.js";

/** The functions of libc that wmsfleet calls. */
export interface Libc {
  /** `int socket(int domain, int type, int protocol)` */
  readonly socket: NativeFunction;
  /** `ssize_t send(int fd, const void *buf, size_t len, int flags)` */
  readonly send: NativeFunction;
  /** `ssize_t recv(int fd, void *buf, size_t len, int flags)` */
  readonly recv: NativeFunction;
}

/** libc, loaded once. @throws off Linux/glibc, or when koffi cannot be loaded. */
export const loadLibc: () => Promise<Libc> = loadOnce(async () => {
  const c = (await loadKoffi()).load("libc.so.6");
  return {
    socket: c.func("int socket(int domain, int type, int protocol)"),
    send: c.func("intptr_t send(int fd, const void *buf, size_t len, int flags)"),
    recv: c.func("intptr_t recv(int fd, _Out_ void *buf, size_t len, int flags)"),
  };
});
