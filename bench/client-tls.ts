/**
 * The operator's side of a bench PKI: the files a client process is given, and the grpc-js
 * credentials made from them. Kept apart from `pki.ts` (which loads `@peculiar/x509`) so that the
 * bundled bare client (`bare-fanout.ts`) starts without it.
 */
import { readFileSync } from "node:fs";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import type { BenchPkiFiles } from "./pki.js";

/** What a client needs for mutual TLS: the CA, its certificate and its key (paths). */
export interface ClientTlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** The operator's files of a bench PKI; `null` without TLS. */
export function clientTlsFiles(files: BenchPkiFiles | undefined): ClientTlsFiles | null {
  return files === undefined
    ? null
    : { ca: files.ca, cert: files.clientCert, key: files.clientKey };
}

/** Mutual TLS credentials from the files; insecure without them. */
export function clientCredentials(tls: ClientTlsFiles | null): ChannelCredentials {
  return tls === null
    ? credentials.createInsecure()
    : credentials.createSsl(readFileSync(tls.ca), readFileSync(tls.key), readFileSync(tls.cert));
}
