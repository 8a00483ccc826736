/**
 * The control under a list read a page at a time, newest first (the audit trail, a timeline, a
 * host's events): a button that reads the next, older page. It is a plain button, so the keyboard
 * reaches it and a screen reader names it by its text; while a page is being read it is disabled,
 * so a second press cannot ask for the same page twice. The list shows it only while the API
 * says there is an older page.
 */
import type { JSX } from "preact";

/** Properties of {@link OlderButton}. */
export interface OlderButtonProps {
  /** The button's text, naming what it reads: "Older records", "Older changes". */
  readonly label: string;
  /** A page is being read: the button is disabled until it is in. */
  readonly loading: boolean;
  /** Reads the next, older page. */
  readonly onOlder: () => void;
}

/** The "older page" button. */
export function OlderButton(props: OlderButtonProps): JSX.Element {
  return (
    <button type="button" class="button small" disabled={props.loading} onClick={props.onOlder}>
      {props.label}
    </button>
  );
}
