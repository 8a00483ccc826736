/**
 * koffi, the FFI library through which wmsfleet calls the operating system where Node.js has no
 * API (Remote Desktop Services, the Service Control Manager, the TCP table, netlink): imported
 * once for the process, on first use, by the DLL modules of this folder only. Importing any other
 * module of wmsfleet loads no native code, on any platform.
 *
 * koffi's named types (structs, callback prototypes) are global to the process: declaring one
 * name twice throws. Each is declared once, in the module of the library whose functions take it.
 */
import type koffiModule from "koffi";

/** The koffi module. */
export type Koffi = typeof koffiModule;
/** A loaded shared library (`koffi.load`). */
export type NativeLibrary = ReturnType<Koffi["load"]>;
/** A function of a shared library (`library.func`), callable synchronously or with `.async`. */
export type NativeFunction = ReturnType<NativeLibrary["func"]>;
/** A named or anonymous koffi type (`koffi.struct`, `koffi.array`, `koffi.proto`). */
export type NativeType = ReturnType<Koffi["struct"]>;

/**
 * Memoises an asynchronous load: every caller shares one promise, and a failed load is not kept,
 * so that a later call tries again (a DLL that was missing may be there now).
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    if (loading === undefined) {
      loading = load();
      loading.catch(() => (loading = undefined));
    }
    return loading;
  };
}

/** koffi itself. @throws when its native binary cannot be loaded on this platform. */
export const loadKoffi: () => Promise<Koffi> = loadOnce(
  async () => (await import("koffi")).default,
);
