/**
 * The audit flow of one call, over any {@link AuditSink}: an intent record before the agent acts,
 * a result record after, both with one `callId`, each kept within `maxAuditRecordBytes`.
 *
 * - `intent` must succeed before the call may act: when the record cannot be written (disk full,
 *   file gone and not recreatable), it rejects with `UNAVAILABLE` and the call does nothing.
 * - `result` is written before the caller is answered. If it cannot be written, the caller is
 *   still told the truth (the agent did act, and its intent is on disk) and the record goes to
 *   the agent log; withholding the answer would only make a client retry a done action and
 *   report it failed.
 * - Calls whose intent is on disk and whose result is not (the agent was forced down while they
 *   ran) are closed by {@link Auditor.abandonOpenCalls} with an `UNKNOWN` result, so a reader
 *   knows why no result follows and that the call may have acted.
 */
import { randomUUID } from "node:crypto";
import { status as Status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { RpcError } from "../server/rpc-error.js";
import type {
  AuditCaller,
  AuditRecord,
  AuditSessionResult,
  AuditSink,
  ResultRecord,
} from "./audit-record.js";
import {
  checkMaxAuditRecordBytes,
  DEFAULT_MAX_AUDIT_RECORD_BYTES,
  serializeBounded,
} from "./bounded-record.js";

/** Options of {@link createAuditor}. */
export interface AuditorOptions {
  readonly sink: AuditSink;
  /** Where records that could not be written go, whole. */
  readonly logger: Logger;
  /**
   * Largest record, in bytes of JSON; larger ones are summarised (see `bounded-record.ts`).
   * @default 65536 ({@link DEFAULT_MAX_AUDIT_RECORD_BYTES}: real calls fit whole)
   */
  readonly maxAuditRecordBytes?: number;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default crypto.randomUUID */
  readonly newCallId?: () => string;
}

/** How a call ended, as its result record says. */
export type CallEnding =
  | { readonly results: readonly AuditSessionResult[] }
  | { readonly status: { readonly code: string; readonly message: string } };

/** The audit records of one call. */
export interface AuditedCall {
  readonly callId: string;
  /**
   * Writes the intent record (the request in its proto3 JSON form).
   * @throws RpcError `UNAVAILABLE` when it cannot be written: the call must then do nothing.
   */
  intent(request: unknown): Promise<void>;
  /**
   * Writes the result record. `request` gives the request's JSON form when it was read; it is
   * asked for only when the call has no intent record (which has the request already). Never
   * rejects: a record that cannot be written is logged.
   */
  result(ending: CallEnding, request?: () => unknown): Promise<void>;
}

/** Writes the audit records of mutating calls. */
export interface Auditor {
  /** Starts the records of one call of `rpc` by `caller`. */
  begin(rpc: string, caller: AuditCaller): AuditedCall;
  /**
   * Writes an `UNKNOWN` result for every call whose intent is written and whose result is not
   * (yet), saying why (`message`); used when a shutdown cuts calls off.
   */
  abandonOpenCalls(message: string): Promise<void>;
  /** How many calls have an intent record and no result record. */
  openCalls(): number;
}

/** The message the caller gets when its intent record cannot be written. */
export const INTENT_NOT_WRITTEN =
  "the audit log cannot be written, so nothing was done; retry once it is fixed (the agent log says why)";

/** Creates an auditor writing to `options.sink`. */
export function createAuditor(options: AuditorOptions): Auditor {
  const { sink, logger } = options;
  const maxBytes = options.maxAuditRecordBytes ?? DEFAULT_MAX_AUDIT_RECORD_BYTES;
  checkMaxAuditRecordBytes(maxBytes);
  const clock = options.clock ?? (() => new Date());
  const newCallId = options.newCallId ?? randomUUID;
  /** Calls with an intent on disk and no result yet, by call id. */
  const open = new Map<string, { readonly rpc: string; readonly caller: AuditCaller }>();

  const base = (callId: string, rpc: string, caller: AuditCaller) => ({
    callId,
    time: clock().toISOString(),
    rpc,
    identity: caller.identity,
    ...(caller.actor === undefined ? {} : { actor: caller.actor }),
    peer: caller.peer,
    ...(caller.certificate === undefined ? {} : { certificate: caller.certificate }),
  });

  /** Writes a result record; a failure is logged with the record, never thrown. */
  async function writeResult(record: ResultRecord): Promise<void> {
    open.delete(record.callId);
    const json = serializeBounded(record, maxBytes);
    try {
      await sink.write(json);
    } catch (error) {
      logger.error(
        { err: error, auditRecord: JSON.parse(json) as unknown },
        "audit result record could not be written; the caller was answered, and this log line keeps the record",
      );
    }
  }

  return {
    begin(rpc, caller) {
      const callId = newCallId();
      let intended = false;
      return {
        callId,
        async intent(request) {
          const record: AuditRecord = { kind: "intent", ...base(callId, rpc, caller), request };
          const json = serializeBounded(record, maxBytes);
          try {
            await sink.write(json);
          } catch (error) {
            logger.error(
              { err: error, auditRecord: JSON.parse(json) as unknown },
              "audit intent record could not be written; the call was refused and did nothing",
            );
            throw new RpcError(Status.UNAVAILABLE, INTENT_NOT_WRITTEN, { cause: error });
          }
          intended = true;
          open.set(callId, { rpc, caller });
        },
        result(ending, request) {
          return writeResult({
            kind: "result",
            ...base(callId, rpc, caller),
            ...(intended || request === undefined ? {} : { request: request() }),
            ...ending,
          });
        },
      };
    },
    async abandonOpenCalls(message) {
      const calls = [...open];
      await Promise.all(
        calls.map(([callId, { rpc, caller }]) =>
          writeResult({
            kind: "result",
            ...base(callId, rpc, caller),
            status: { code: Status[Status.UNKNOWN], message },
          }),
        ),
      );
    },
    openCalls: () => open.size,
  };
}
