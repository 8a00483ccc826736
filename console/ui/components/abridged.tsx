/**
 * Something too long for a table cell (a 1,000-host action's hosts, a what-if's failures): its
 * first part, and the whole of it behind a native `<details>` disclosure. The summary is a
 * control the keyboard reaches (Tab, then Enter or Space opens it) and a screen reader names by
 * its text and tells open or closed; the whole is in the page from the start, so the browser's
 * find-in-page reaches it too (and opens it).
 */
import type { ComponentChildren, JSX } from "preact";

/** Properties of {@link Abridged}. */
export interface AbridgedProps {
  /** The first part, always shown: the disclosure's summary. */
  readonly short: ComponentChildren;
  /** Names the whole once it is open (the scrolling box's label): "All 1,000 hosts". */
  readonly wholeLabel: string;
  /** The whole, shown when the summary is opened. */
  readonly children: ComponentChildren;
}

/** A cell's first part, the whole of it one Enter away. */
export function Abridged(props: AbridgedProps): JSX.Element {
  return (
    <details class="abridged">
      <summary>{props.short}</summary>
      {/* It scrolls when long: the keyboard can reach it. */}
      <div class="abridged-whole" tabIndex={0} role="region" aria-label={props.wholeLabel}>
        {props.children}
      </div>
    </details>
  );
}
