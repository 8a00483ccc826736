/**
 * A message box for `SendMessage` (`msg`, `Send-RDUserMessage`): what the caller gives, checked
 * against the limits the agent enforces before anything is sent, and turned into request fields.
 */
import type { Duration } from "../proto/gen/google/protobuf/duration.js";
import { MessageButtons } from "../proto/gen/wms/v1/wms_session.js";
import type { CallOptions } from "./session-actions.js";

/** The longest text, in characters (the agent refuses more). */
export const MAX_MESSAGE_TEXT_CHARS = 4096;
/** The longest title, in characters (the agent refuses more). */
export const MAX_MESSAGE_TITLE_CHARS = 256;
/** The shortest time a message may stay on screen before it closes by itself: 1 s. */
export const MIN_MESSAGE_TIMEOUT_MS = 1000;
/** The longest time a message may stay on screen before it closes by itself: 24 h. */
export const MAX_MESSAGE_TIMEOUT_MS = 86_400_000;

/** A message to show in sessions. */
export interface MessageOptions extends CallOptions {
  /** The text: 1 to {@link MAX_MESSAGE_TEXT_CHARS} characters. */
  readonly text: string;
  /** The title, at most {@link MAX_MESSAGE_TITLE_CHARS}. @default "" (the agent's default title) */
  readonly title?: string;
  /** @default MessageButtons.OK */
  readonly buttons?: MessageButtons;
  /**
   * How long the message stays on screen before it closes by itself, in milliseconds (whole
   * seconds: rounded up). @default none: until the user closes it (only without `wait`)
   */
  readonly timeoutMs?: number;
  /**
   * Wait for each user's answer (or the timeout). Each host's deadline then becomes
   * `timeoutMs` plus the controller's `timeoutMs`, so that the answer has time to come back.
   * @default false
   */
  readonly wait?: boolean;
  /** Report who would be messaged and show nothing. @default false */
  readonly whatIf?: boolean;
}

/** The fields of a `SendMessageRequest` that come from the message itself. */
export interface MessageFields {
  readonly title: string;
  readonly text: string;
  readonly buttons: MessageButtons;
  readonly timeout: Duration | undefined;
  readonly wait: boolean;
  readonly whatIf: boolean;
}

const chars = (text: string) => [...text].length;

/**
 * Checks a message and makes its request fields.
 * @throws TypeError naming the field and the limit it breaks.
 */
export function messageFields(message: MessageOptions): MessageFields {
  if (typeof message.text !== "string" || message.text.trim() === "") {
    throw new TypeError("message text is empty (or only white space)");
  }
  if (chars(message.text) > MAX_MESSAGE_TEXT_CHARS) {
    throw new TypeError(
      `message text is ${chars(message.text)} characters; at most ${MAX_MESSAGE_TEXT_CHARS}`,
    );
  }
  const title = message.title ?? "";
  if (chars(title) > MAX_MESSAGE_TITLE_CHARS) {
    throw new TypeError(
      `message title is ${chars(title)} characters; at most ${MAX_MESSAGE_TITLE_CHARS}`,
    );
  }
  const buttons = message.buttons ?? MessageButtons.OK;
  if (
    !Number.isInteger(buttons) ||
    buttons < MessageButtons.OK ||
    buttons > MessageButtons.ABORT_RETRY_IGNORE
  ) {
    throw new TypeError(`message buttons: ${String(buttons)} is not a MessageButtons value`);
  }
  const timeoutMs = message.timeoutMs;
  if (
    timeoutMs !== undefined &&
    (!Number.isFinite(timeoutMs) ||
      timeoutMs < MIN_MESSAGE_TIMEOUT_MS ||
      timeoutMs > MAX_MESSAGE_TIMEOUT_MS)
  ) {
    throw new TypeError(
      `message timeout ${String(timeoutMs)} ms is outside ${MIN_MESSAGE_TIMEOUT_MS}..${MAX_MESSAGE_TIMEOUT_MS} ms (1 s to 24 h)`,
    );
  }
  const wait = message.wait ?? false;
  if (wait && timeoutMs === undefined) {
    throw new TypeError(
      "waiting for answers needs a message timeout: a message nobody answers would hold the call forever",
    );
  }
  return {
    title,
    text: message.text,
    buttons,
    timeout:
      timeoutMs === undefined ? undefined : { seconds: Math.ceil(timeoutMs / 1000), nanos: 0 },
    wait,
    whatIf: message.whatIf ?? false,
  };
}
