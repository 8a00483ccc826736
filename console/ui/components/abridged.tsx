/**
 * Something too long for a table cell (a 1,000-host action's hosts, a what-if's failures, a
 * user's groups): its first part, and the whole of it behind a native `<details>` disclosure. The
 * summary is a control the keyboard reaches (Tab, then Enter or Space opens it) and a screen
 * reader names by its text and tells open or closed; the whole is in the page from the start, so
 * the browser's find-in-page reaches it too (and opens it).
 */
import type {
  ComponentChildren,
  JSX,
  TargetedEvent,
  TargetedFocusEvent,
  TargetedKeyboardEvent,
} from "preact";

/** Properties of {@link Abridged}. */
export interface AbridgedProps {
  /** The first part, always shown: the disclosure's summary. */
  readonly short: ComponentChildren;
  /** Names the whole once it is open (the scrolling box's label): "All 1,000 hosts". */
  readonly wholeLabel: string;
  /** The whole, shown when the summary is opened. */
  readonly children: ComponentChildren;
  /**
   * The whole floats below the summary, over what follows, instead of pushing it down: for a row
   * that keeps its height (a virtualised grid's). Opened, it is scrolled into view (a row at the
   * bottom of a scrolling table); like any pop-up it closes with Escape (the focus goes back to
   * the summary) and when the focus moves to a control outside it.
   * @default false
   */
  readonly floating?: boolean;
  /**
   * Whether the summary is in the tab order. False in a grid row that is not the active one: the
   * grid is one tab stop, and Tab from it reaches the active row's disclosure only.
   * @default true
   */
  readonly tabbable?: boolean;
}

/** A cell's first part, the whole of it one Enter away. */
export function Abridged(props: AbridgedProps): JSX.Element {
  const floating = props.floating === true;
  return (
    <details
      class={floating ? "abridged floating" : "abridged"}
      onToggle={floating ? showWhenOpened : undefined}
      onKeyDown={floating ? closeOnEscape : undefined}
      onFocusOut={floating ? closeWhenFocusLeaves : undefined}
    >
      <summary tabIndex={props.tabbable === false ? -1 : undefined}>{props.short}</summary>
      {/* It scrolls when long: the keyboard can reach it. */}
      <div class="abridged-whole" tabIndex={0} role="region" aria-label={props.wholeLabel}>
        {props.children}
      </div>
    </details>
  );
}

/** An opened floating disclosure's whole is scrolled into view, as little as it takes. */
function showWhenOpened(event: TargetedEvent<HTMLDetailsElement>): void {
  const details = event.currentTarget;
  if (details.open) details.querySelector(".abridged-whole")?.scrollIntoView({ block: "nearest" });
}

/** Escape in an open floating disclosure closes it and puts the focus back on its summary. */
function closeOnEscape(event: TargetedKeyboardEvent<HTMLDetailsElement>): void {
  const details = event.currentTarget;
  if (event.key !== "Escape" || !details.open) return;
  event.preventDefault();
  event.stopPropagation();
  details.querySelector("summary")?.focus();
  details.open = false;
}

/**
 * A floating disclosure closes when the focus moves to another control (another row's, a filter),
 * so at most one covers the rows below; not when the page itself loses the focus (no related
 * target: the window went to the background, a click landed on nothing focusable).
 */
function closeWhenFocusLeaves(event: TargetedFocusEvent<HTMLDetailsElement>): void {
  const to = event.relatedTarget;
  if (to instanceof Node && !event.currentTarget.contains(to)) event.currentTarget.open = false;
}
