/**
 * A modal question before something that cannot be undone (removing an account, revoking a
 * token): it names what will happen, focus starts on Cancel, Escape cancels, and focus goes back
 * to the button that opened it. The confirm button names the act ("Remove bob").
 */
import type { ComponentChildren, JSX } from "preact";
import { useState } from "preact/hooks";
import { useModalDialog } from "../hooks.js";
import { ProblemBanner } from "./problem.js";

/** Properties of {@link ConfirmDialog}. */
export interface ConfirmDialogProps {
  /** The question, as the dialog's name: "Remove the account bob?". */
  readonly title: string;
  /** What will happen, in a sentence or two. */
  readonly children?: ComponentChildren;
  /** The confirm button's text: "Remove bob". */
  readonly confirm: string;
  /** Does it; a rejection is shown in the dialog, which stays open. */
  readonly onConfirm: () => Promise<void>;
  /** The dialog closes (cancelled, or done). */
  readonly onClose: () => void;
}

/** The confirmation dialog. */
export function ConfirmDialog(props: ConfirmDialogProps): JSX.Element {
  const dialog = useModalDialog();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(undefined);

  const confirm = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (error) {
      setProblem(error);
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="dialog confirm"
      aria-labelledby="confirm-title"
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) props.onClose();
      }}
    >
      <h2 id="confirm-title">{props.title}</h2>
      {props.children}
      {problem !== undefined && <ProblemBanner doing={props.confirm} problem={problem} />}
      <div class="dialog-buttons">
        <button type="button" class="button" onClick={props.onClose} disabled={busy} autoFocus>
          Cancel
        </button>
        <button type="button" class="button danger" onClick={() => void confirm()} disabled={busy}>
          {props.confirm}
        </button>
      </div>
    </dialog>
  );
}
