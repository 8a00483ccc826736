/**
 * Checks of a `SendMessage` request (DESIGN section 8): which sessions (ids or a filter, exactly
 * one), the text and title, the buttons and the timeout. A request that fails here is refused with
 * `INVALID_ARGUMENT` naming the field, before any session is looked at.
 */
import { MessageButtons, type SendMessageRequest } from "../../proto/gen/wms/v1/wms_session.js";
import type { MessageBox } from "./backend.js";
import { invalidArgument } from "../server/rpc-error.js";
import { compileFilter, durationToMs, type CompiledFilter } from "./session-filter.js";
import { validateSessionIds } from "./request-validation.js";

/** Most characters (Unicode code points) of a message's text. */
export const MAX_MESSAGE_TEXT_CHARS = 4096;
/** Most characters of a message's title. */
export const MAX_MESSAGE_TITLE_CHARS = 256;
/** The title of a message sent without one. */
export const DEFAULT_MESSAGE_TITLE = "Message from your administrator";
/** Shortest timeout of a message box, in seconds (`WTSSendMessageW` counts whole seconds). */
export const MIN_MESSAGE_TIMEOUT_SECONDS = 1;
/** Longest timeout of a message box, in seconds: 24 hours. */
export const MAX_MESSAGE_TIMEOUT_SECONDS = 24 * 3600;

/** A checked `SendMessage` request. */
export interface MessagePlan {
  /** The ids named, without duplicates in first-named order; `undefined` when a filter selects. */
  readonly sessionIds: readonly number[] | undefined;
  /** The filter, when it selects. */
  readonly filter: CompiledFilter | undefined;
  readonly box: MessageBox;
  readonly whatIf: boolean;
}

/**
 * Validates a `SendMessage` request.
 * @param maxWaitMs - the longest timeout a waiting call may ask for (the agent's limit).
 * @throws RpcError `INVALID_ARGUMENT` naming the field at fault.
 */
export function validateMessageRequest(
  request: SendMessageRequest,
  maxWaitMs: number,
  nowMs: () => number,
): MessagePlan {
  const byIds = request.sessionIds.length > 0;
  const byFilter = request.filter !== undefined;
  if (byIds && byFilter) {
    throw invalidArgument(
      "give either session_ids or filter, not both: a message goes to the sessions named or to those the filter matches",
    );
  }
  if (!byIds && !byFilter) {
    throw invalidArgument(
      "name the sessions to message: session_ids (1 to 4096 ids), or filter (an empty filter matches every session)",
    );
  }
  const sessionIds = byIds
    ? validateSessionIds(request.sessionIds, { allowEmpty: false })
    : undefined;
  const filter = byFilter ? compileFilter(request.filter, nowMs) : undefined;

  const text = request.text;
  const textChars = [...text].length;
  if (textChars === 0) {
    throw invalidArgument(`text: a message needs text (1 to ${MAX_MESSAGE_TEXT_CHARS} characters)`);
  }
  if (textChars > MAX_MESSAGE_TEXT_CHARS) {
    throw invalidArgument(
      `text: ${textChars} characters; at most ${MAX_MESSAGE_TEXT_CHARS} are accepted`,
    );
  }
  checkNoNul(text, "text");
  const titleChars = [...request.title].length;
  if (titleChars > MAX_MESSAGE_TITLE_CHARS) {
    throw invalidArgument(
      `title: ${titleChars} characters; at most ${MAX_MESSAGE_TITLE_CHARS} are accepted`,
    );
  }
  checkNoNul(request.title, "title");
  if (/[\r\n]/.test(request.title)) {
    throw invalidArgument("title: a title is one line (no line breaks); put them in the text");
  }

  const buttons =
    request.buttons === MessageButtons.UNSPECIFIED ? MessageButtons.OK : request.buttons;
  if (
    !Number.isInteger(buttons) ||
    buttons < MessageButtons.OK ||
    buttons > MessageButtons.ABORT_RETRY_IGNORE
  ) {
    throw invalidArgument(
      `buttons: ${String(request.buttons)} is not a MessageButtons value (1..6, OK..ABORT_RETRY_IGNORE)`,
    );
  }

  const timeoutMs = durationToMs(request.timeout, "timeout");
  let timeoutSeconds: number | undefined;
  if (timeoutMs !== undefined) {
    const nanos = request.timeout?.nanos ?? 0;
    // Whole seconds, rounded up: a box that must stay 1.5 s stays 2.
    timeoutSeconds = Math.ceil((request.timeout?.seconds ?? 0) + nanos / 1e9);
    if (timeoutSeconds < MIN_MESSAGE_TIMEOUT_SECONDS) {
      throw invalidArgument(
        `timeout: a message box stays at least ${MIN_MESSAGE_TIMEOUT_SECONDS} second; leave timeout unset for no timeout`,
      );
    }
    if (timeoutSeconds > MAX_MESSAGE_TIMEOUT_SECONDS) {
      throw invalidArgument(
        `timeout: ${timeoutSeconds} s is longer than 24 hours (${MAX_MESSAGE_TIMEOUT_SECONDS} s)`,
      );
    }
  }
  if (request.wait) {
    const maxWaitSeconds = Math.floor(maxWaitMs / 1000);
    if (timeoutSeconds === undefined) {
      throw invalidArgument(
        `wait needs a timeout: a call that waits for answers must end (at most ${maxWaitSeconds} s on this agent)`,
      );
    }
    if (timeoutSeconds * 1000 > maxWaitMs) {
      throw invalidArgument(
        `timeout: ${timeoutSeconds} s is longer than this agent lets a call wait for answers (${maxWaitSeconds} s); use a shorter timeout, or send without wait`,
      );
    }
  }
  return {
    sessionIds,
    filter,
    box: {
      title: request.title === "" ? DEFAULT_MESSAGE_TITLE : request.title,
      text,
      buttons,
      timeoutSeconds,
      wait: request.wait,
    },
    whatIf: request.whatIf,
  };
}

function checkNoNul(text: string, field: string): void {
  if (text.includes("\0")) {
    throw invalidArgument(`${field}: contains a NUL character (U+0000), which would cut it short`);
  }
}
