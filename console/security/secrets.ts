/**
 * The console's bearer secrets: API tokens and web session ids. Each is 32 random bytes
 * (256 bits, base64url) and is stored only as its SHA-256 digest: a digest of so much entropy
 * cannot be reversed or guessed, so a slow hash adds nothing, and a lookup by digest stays one
 * index probe per request. API tokens carry a prefix (`wmsc_`) and their public id, so that a
 * leaked token is recognisable in logs and secret scanners, and revocable by its id.
 */
import { createHash, randomBytes } from "node:crypto";

/** The prefix of every API token. */
export const TOKEN_PREFIX = "wmsc_";

/** SHA-256 of a secret, hex: what the store keeps. */
export function secretDigest(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A new random secret: 32 bytes, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** A new API token: its public id (8 hex digits… 16) and the secret to print once. */
export function newApiToken(): { id: string; token: string } {
  const id = randomBytes(8).toString("hex");
  return { id, token: `${TOKEN_PREFIX}${id}_${newSecret()}` };
}

/** Longest `Authorization: Bearer` value looked up; anything longer is not a token of ours. */
export const MAX_TOKEN_CHARS = 128;
