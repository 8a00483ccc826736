/**
 * What the audit log holds (DESIGN section 5, docs/security.md "The audit log"): for every
 * mutating call, an **intent** record before the agent acts, and a **result** record after it
 * acted, before the caller is answered; both carry the same `callId`. A call that cannot act
 * (what-if, refused by the roles, by request validation, by a shutdown) has a result record only.
 */

/** Who called, as far as the agent can tell. Every record carries it. */
export interface AuditCaller {
  /**
   * The certificate name that was given the role (subject CN, or a DNS, email or URI SAN); for a
   * refused call the certificate's first name. `null` under `--insecure-loopback` or when the
   * caller presented no certificate.
   */
  readonly identity: string | null;
  /**
   * Whom the caller says it acts for (metadata `wmsfleet-actor`, e.g. the person at a console),
   * recorded as claimed and cut to {@link MAX_ACTOR_CHARS} characters; absent when not sent.
   */
  readonly actor?: string;
  /** The caller's address as grpc-js reports it (`ADDRESS:PORT`). */
  readonly peer: string;
  /** The client certificate, when the caller presented a verified one. */
  readonly certificate?: CertificateDetails;
}

/** A client certificate as the audit log names it. */
export interface CertificateDetails {
  /** The subject distinguished name, e.g. `CN=alice, O=School`. */
  readonly subject: string;
  /**
   * The subject alternative name that is {@link AuditCaller.identity}, as `TYPE:value`
   * (`DNS:console.lab.example.org`, `email:…`, `URI:…`); absent when the identity is the subject CN.
   */
  readonly matchedSan?: string;
  /** The serial number, hexadecimal as OpenSSL prints it. */
  readonly serial: string;
  /** The SHA-256 fingerprint, colon-separated hexadecimal pairs. */
  readonly fingerprint256: string;
}

/** Longest `actor` kept, in characters; longer claims are cut and end with `…`. */
export const MAX_ACTOR_CHARS = 256;

/** One session's result as the audit log records it (enum values by name). */
export interface AuditSessionResult {
  readonly sessionId: number;
  /** `DISCONNECTED`, `WOULD_DISCONNECT`, `PROTECTED`, ... */
  readonly outcome: string;
  readonly message: string;
  /** 0 when none. */
  readonly win32Error: number;
  /** The protection rule behind a `PROTECTED` outcome. */
  readonly protection?: string;
  /** `DOMAIN\user` of the session as it was, when it had a user. */
  readonly user?: string;
  /** `SendMessage`: the user's answer, `TIMEOUT` or `NOT_WAITED`. */
  readonly response?: string;
}

/** What every record has. */
interface RecordBase extends AuditCaller {
  /** Links the intent and the result of one call (a random UUID). */
  readonly callId: string;
  /** When the record was made (ISO 8601, UTC). */
  readonly time: string;
  /** The RPC, e.g. `Disconnect`. */
  readonly rpc: string;
  /** Present when the record is larger than `maxAuditRecordBytes` allows: see `bounded-record.ts`. */
  readonly summarised?: RecordSummary;
}

/** Written, and flushed, before the agent acts. If it cannot be written, the call does nothing. */
export interface IntentRecord extends RecordBase {
  readonly kind: "intent";
  /** The request in the proto3 JSON mapping (camelCase fields, defaults left out). */
  readonly request: unknown;
}

/** Written after the call, before its answer is sent. */
export interface ResultRecord extends RecordBase {
  readonly kind: "result";
  /** The request, when the call has no intent record (which has it) and the request was read. */
  readonly request?: unknown;
  /** The per-session results, when the call was answered with them. */
  readonly results?: readonly AuditSessionResult[];
  /** Per outcome, how many results there were and the first session ids, when `results` was cut. */
  readonly resultCounts?: Readonly<Record<string, OutcomeSummary>>;
  /** The gRPC status name and message, when the call failed as a whole. */
  readonly status?: { readonly code: string; readonly message: string };
}

/** The results of one outcome, summarised. */
export interface OutcomeSummary {
  readonly count: number;
  /** The first session ids with this outcome, in the order of the results. */
  readonly firstSessionIds: readonly number[];
}

/** What was cut from a record to keep it within `maxAuditRecordBytes`. */
export interface RecordSummary {
  /** The size the whole record would have had, in bytes of JSON. */
  readonly bytes: number;
  /**
   * The original length of each array (items) and string (characters) that was cut, by its path
   * in the record, e.g. `{"request.sessionIds": 250000}`.
   */
  readonly lengths: Readonly<Record<string, number>>;
}

/** Any audit record. */
export type AuditRecord = IntentRecord | ResultRecord;

/** Where audit records go, one JSON text (no line break) per record. */
export interface AuditSink {
  /** Resolves once the record is durable; rejects when it could not be written. */
  write(json: string): Promise<void>;
}
