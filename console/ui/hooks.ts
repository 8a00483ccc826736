/** Small hooks the views share. */
import type { RefObject } from "preact";
import { useEffect, useReducer, useRef, useState } from "preact/hooks";
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
