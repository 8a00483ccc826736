/**
 * What went wrong with a connection to an agent, in words a person can act on. grpc-js reports a
 * connection that failed as `UNAVAILABLE: No connection established. Last error: …` and one that
 * never finished as a deadline `Waiting for LB pick`; neither says whether the agent speaks
 * another protocol, refused this client's certificate or does not answer at all. The connector of
 * `owned-connections.ts` saw the attempt: this turns what it saw into the reason and what to check.
 */
import { status as Status } from "@grpc/grpc-js";
import type { ConnectionAttempt } from "./owned-connections.js";

/** OpenSSL's words when the peer's first bytes are not a TLS record (it speaks plaintext). */
const NOT_TLS =
  /wrong version number|packet length too long|unknown protocol|http request|record layer failure/i;
/** TLS alerts by which a peer refuses this client's certificate during the handshake. */
const CLIENT_REFUSED =
  /alert (?:unknown ca|bad certificate|certificate required|certificate unknown|certificate expired|certificate revoked|unsupported certificate|access denied|handshake failure)/i;
/** The controller refusing the agent's certificate (as `host-result.ts` classifies it `denied`). */
const NOT_FOR_THIS_NAME = /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate/i;
const NOT_FROM_THE_CA =
  /self[- ]signed certificate|unable to verify the first certificate|unable to get (?:local )?issuer certificate|certificate signature failure|invalid CA certificate/i;
const OUT_OF_DATE = /certificate has expired|certificate is not yet valid/i;

/**
 * OpenSSL's short reason (`wrong version number`) when Node gives one, else the message; a
 * certificate check Node made keeps its code and whole message (`[ERR_TLS_CERT_ALTNAME_INVALID]
 * Hostname/IP does not match certificate's altnames: …`), which names both sides.
 */
function reasonOf(error: Error | undefined): string {
  if (error === undefined) return "";
  const { code, reason } = error as Error & { code?: unknown; reason?: unknown };
  if (typeof code === "string" && code.startsWith("ERR_TLS_CERT"))
    return `[${code}] ${error.message}`;
  return typeof reason === "string" && reason !== "" ? reason : error.message;
}

/** The handshake with `host`'s agent failed: why, and what to check. */
function failedHandshake(attempt: ConnectionAttempt, host: string): string {
  const { peer } = attempt;
  const reason = reasonOf(attempt.error);
  if (attempt.timedOut === true) {
    return (
      `${peer} accepted the connection but never answered the TLS handshake: it is not a ` +
      "wms-agent, or something in between (a proxy, a port forward) does not pass the connection on; " +
      "check the host's address (inventory line, --resolve, --port)"
    );
  }
  if (NOT_TLS.test(reason)) {
    return (
      `${peer} answered the TLS handshake in plaintext (TLS: ${reason}): the agent there runs ` +
      "without TLS (--insecure-loopback); talk to it with --insecure-loopback, or start it with " +
      "--tls-cert, --tls-key and --tls-ca"
    );
  }
  const alert = CLIENT_REFUSED.exec(reason);
  if (alert !== null) {
    return (
      `${peer} refused this client's certificate (TLS ${alert[0]}): check that it was issued by ` +
      "the CA the agent trusts (the agent's --tls-ca), has not expired, and is a client " +
      "certificate (wmsctl pki issue-client)"
    );
  }
  if (NOT_FOR_THIS_NAME.test(reason)) {
    return (
      `the agent at ${peer} has a certificate for another name (TLS: ${reason}): check that ` +
      `this is ${host}'s address (inventory line, --resolve), or give its agent a certificate ` +
      `for ${host} (wmsctl pki issue-agent ${host})`
    );
  }
  if (NOT_FROM_THE_CA.test(reason)) {
    return (
      `the agent's certificate at ${peer} is not signed by the CA wmsctl trusts (TLS: ${reason}): ` +
      "check --ca (or the config dir's ca.pem), or give the agent a certificate from that CA"
    );
  }
  if (OUT_OF_DATE.test(reason)) {
    return `the agent's certificate at ${peer} is out of date (TLS: ${reason}): renew it (wmsctl pki issue-agent ${host} --force) and restart or SIGHUP the agent`;
  }
  if (/ECONNRESET|disconnected before secure TLS connection|socket hang up/i.test(reason)) {
    return (
      `${peer} closed the connection during the TLS handshake (${reason}): it is not a ` +
      "wms-agent with TLS, or it refused this client's certificate"
    );
  }
  return `the TLS handshake with ${peer} failed: ${reason}`;
}

/**
 * The reason a call failed without reaching the agent, told from how its connection attempt went;
 * `undefined` when the attempt says nothing more than grpc-js did.
 * @param host the host's FQDN
 * @param attempt the last connection attempt of the host's channel, if one began during the call
 * @param code the call's status code
 * @param details the call's status details (grpc-js's)
 */
export function connectionProblem(
  host: string,
  attempt: ConnectionAttempt | undefined,
  code: Status,
  details: string,
): string | undefined {
  const deadline = code === Status.DEADLINE_EXCEEDED;
  if (!deadline && code !== Status.UNAVAILABLE) return undefined;
  if (attempt === undefined) {
    return deadline
      ? "no connection to the agent within the deadline: the host did not answer (switched off, " +
          "or a firewall drops the connection), or its name did not resolve in time"
      : undefined;
  }
  const { peer, secure } = attempt;
  switch (attempt.phase) {
    case "failed":
      // grpc-js reports the last connection error: an older failed handshake says nothing about
      // a later attempt that failed before it (a refused TCP connection, say).
      if (!deadline && !details.includes(attempt.error?.message ?? "\0")) return undefined;
      return failedHandshake(attempt, host);
    case "handshake":
      // The call failed with the attempt before, and grpc-js has begun the next one since (seen
      // under load): tell the failure the call was failed by.
      if (!deadline && attempt.previous !== undefined) {
        return connectionProblem(host, attempt.previous, code, details);
      }
      return deadline
        ? `${peer} accepted the connection but never finished the TLS handshake within the deadline: it is not a wms-agent, or something in between does not pass the connection on`
        : undefined;
    case "closed":
      return closedWithoutAnswer(peer, secure, details);
    case "established":
      if (deadline) {
        return (
          `${peer} accepted the connection but never answered HTTP/2 within the deadline: it is not a wms-agent` +
          (secure ? "" : ", or it expects TLS (then drop --insecure-loopback)")
        );
      }
      // grpc-js may fail the call before the socket's "close" event has marked the attempt
      // closed (seen under load): the same story as "closed".
      return closedWithoutAnswer(peer, secure, details);
  }
}

/**
 * A connection that the peer closed before answering HTTP/2, when grpc-js's words say so
 * ("Failed to connect", "Connection closed before ..."); `undefined` otherwise.
 */
function closedWithoutAnswer(peer: string, secure: boolean, details: string): string | undefined {
  if (!/Failed to connect|Connection closed before/i.test(details)) return undefined;
  return secure
    ? `${peer} finished the TLS handshake, then closed the connection without answering: ` +
        "it most likely refused this client's certificate (TLS 1.3 says so only after the " +
        "handshake); check that the certificate was issued by the CA the agent trusts (its " +
        "--tls-ca), has not expired, and is a client certificate (wmsctl pki issue-client)"
    : `${peer} closed the connection without answering HTTP/2: it most likely requires TLS ` +
        "(agents do unless started with --insecure-loopback); drop --insecure-loopback and " +
        "give --ca, --cert and --key";
}
