/**
 * wmsfleet's private PKI, as `wmsctl pki` makes it and tests and benchmarks reuse it: a CA, agent
 * certificates named by FQDN (DNS SAN, serverAuth), client certificates named by identity (CN,
 * clientAuth); ECDSA P-256 with SHA-256, built on `@peculiar/x509` and WebCrypto.
 *
 * ```ts
 * const ca = await createCertificateAuthority();
 * const agent = await issueAgentCertificate(ca, "h1.lab.example.com");
 * const client = await issueClientCertificate(ca, "ops");
 * await writeIssued(pemFiles(dir, "ops"), client, false);
 * ```
 */
export {
  BACKDATE_MS,
  KEY_ALGORITHM,
  SIGNING_ALGORITHM,
  createCertificateAuthority,
  issueAgentCertificate,
  issueClientCertificate,
  toPem,
  type AgentCertificateOptions,
  type CaOptions,
  type CertificateAuthority,
  type CryptoKey,
  type IssuedCertificate,
  type ValidityOptions,
} from "./certificates.js";
export {
  ensureDevelopmentPki,
  type DevelopmentPki,
  type DevelopmentPkiOptions,
} from "./dev-pki.js";
export { PkiError } from "./pki-error.js";
export {
  CERT_FILE_MODE,
  KEY_FILE_MODE,
  caFiles,
  checkWritable,
  loadCertificateAuthority,
  pemFiles,
  writeFileWithMode,
  writeIssued,
  type PemFilePair,
} from "./pki-files.js";
export {
  MAX_CLIENT_NAME_LENGTH,
  agentCertificateName,
  certificateIpAddresses,
  clientCertificateName,
} from "./pki-names.js";
