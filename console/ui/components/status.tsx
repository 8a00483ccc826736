/** States by colour and by word: a host's status, a session's state. */
import type { JSX } from "preact";
import type { HostStatus, SessionStateName } from "../model.js";

/** A host's status: a coloured mark and the word. */
export function HostStatusBadge(props: {
  status: HostStatus;
  reason?: string | undefined;
}): JSX.Element {
  return (
    <span class={`badge status-${props.status}`} title={props.reason}>
      <span class="dot" aria-hidden="true" />
      {props.status}
    </span>
  );
}

/** A session's state: a coloured mark and the word, in lower case. */
export function SessionStateBadge(props: { state: SessionStateName }): JSX.Element {
  return (
    <span class={`badge state-${props.state.toLowerCase()}`}>
      <span class="dot" aria-hidden="true" />
      {props.state.toLowerCase().replace("_", " ")}
    </span>
  );
}
