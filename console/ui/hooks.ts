/** Small hooks the views share. */
import type { RefObject } from "preact";
import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import { loadingList, PagedListReader, type FetchPage, type PagedListState } from "./paged-list.js";
import type { FleetStore } from "./store/fleet-store.js";

/** Re-renders the component after every batch the store applies; returns the store's version. */
export function useStoreVersion(store: FleetStore): number {
  const [, bump] = useReducer((n: number, _: void) => n + 1, 0);
  useEffect(() => store.subscribe(() => bump()), [store]);
  return store.version;
}

/**
 * The time now, moving every `everyMs` while the component is shown: idle times count up and
 * highlights fade without an event.
 */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** The part of the address after `#`, kept current. */
export function useHashRoute(): string {
  const read = () => decodeURIComponent(window.location.hash.replace(/^#/, "")) || "/";
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

/**
 * A `<dialog>` shown modal while the component is: opened on mount, and on unmount focus goes back
 * where it was (the button that opened it). Returns the ref for the `<dialog>` element.
 */
export function useModalDialog(): RefObject<HTMLDialogElement | null> {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    const opener = document.activeElement;
    if (element !== null && !element.open) element.showModal();
    return () => {
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);
  return dialog;
}

/** A list read a page at a time, as {@link usePagedList} gives it to a view. */
export interface PagedList<T, C> extends PagedListState<T, C> {
  /** Reads the next, older page (the "Older …" button); nothing while a page is being read. */
  readonly loadOlder: () => void;
  /** Reads the list again from its first page ("Try again" after a problem). */
  readonly retry: () => void;
}

/**
 * A list the API gives a page at a time, newest first: the first page is read when the
 * component mounts and again, from an empty list, whenever one of `deps` changes (a filter, the
 * host) or on `retry()`; `loadOlder()` appends the next page. One rule for every such list: a
 * page being read clears the problem; a restart aborts the page being read, first or older, and
 * a page asked for before the restart never touches the list (neither its items nor `loading`).
 * `fetchPage` may be a new function each render: the newest one is used, and only `deps` restart
 * the list. `options.maxItems` caps what the list keeps (see {@link PagedListReader}).
 */
export function usePagedList<T, C>(
  fetchPage: FetchPage<T, C>,
  deps: readonly unknown[],
  options: { readonly maxItems?: number } = {},
): PagedList<T, C> {
  const [state, setState] = useState<PagedListState<T, C>>(loadingList);
  const [attempt, setAttempt] = useState(0);
  const latestFetch = useRef(fetchPage);
  latestFetch.current = fetchPage;
  const reader = useRef<PagedListReader<T, C> | undefined>(undefined);
  useEffect(() => {
    const current = new PagedListReader<T, C>(
      (before, signal) => latestFetch.current(before, signal),
      setState,
      { maxItems: options.maxItems },
    );
    reader.current = current;
    current.start();
    return () => current.close();
  }, [...deps, options.maxItems, attempt]);
  return {
    ...state,
    loadOlder: () => reader.current?.older(),
    retry: () => setAttempt((n) => n + 1),
  };
}
