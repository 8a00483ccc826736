/**
 * Password hashing with Node's scrypt: a random 16-byte salt per password, parameters stored
 * with the hash (`scrypt$N$r$p$SALT$HASH`, base64url) so that stronger parameters can come later
 * without invalidating older hashes, and a constant-time comparison.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * The scrypt parameters of new hashes: N = 2^15, r = 8, p = 1 — twice the work of scrypt's
 * author's recommendation for interactive logins (2^14), 32 MiB and about 0.1–0.3 s of one core
 * per check, so that a login feels instant while an offline guess at a stolen store stays costly,
 * and a burst of logins (which the login limiter bounds) cannot exhaust a small console's memory.
 * The parameters are stored with each hash: raising them later leaves older hashes valid.
 */
export const SCRYPT_PARAMETERS = { N: 2 ** 15, r: 8, p: 1 } as const;
/** Bytes of the derived key and of the salt. */
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Longest password accepted, in characters: longer ones only cost hashing time. */
export const MAX_PASSWORD_CHARS = 1024;
/** Shortest password accepted for a new account or a new password, in characters. */
export const MIN_PASSWORD_CHARS = 12;

function derive(password: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  // 128 × N × r × p bytes, plus room.
  const maxmem = 128 * (params.N ?? 0) * (params.r ?? 0) * 2 + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, KEY_BYTES, { ...params, maxmem }, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

/**
 * Why a new password is refused, or undefined when it is acceptable.
 */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_CHARS) {
    return `a password needs at least ${MIN_PASSWORD_CHARS} characters`;
  }
  if (password.length > MAX_PASSWORD_CHARS) {
    return `a password has at most ${MAX_PASSWORD_CHARS} characters`;
  }
  return undefined;
}

/** Hashes a password for the store. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const { N, r, p } = SCRYPT_PARAMETERS;
  const key = await derive(password, salt, { N, r, p });
  return ["scrypt", N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/**
 * Whether `password` matches `stored`, in time independent of where they differ. A malformed
 * stored hash matches nothing (after the same work, so that it cannot be told apart).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  const [scheme, n, r, p, saltText, keyText] = parts;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const wellFormed =
    parts.length === 6 &&
    scheme === "scrypt" &&
    Number.isSafeInteger(params.N) &&
    params.N >= 2 &&
    params.N <= 2 ** 20 &&
    Number.isSafeInteger(params.r) &&
    params.r >= 1 &&
    params.r <= 32 &&
    Number.isSafeInteger(params.p) &&
    params.p >= 1 &&
    params.p <= 16 &&
    saltText !== undefined &&
    keyText !== undefined;
  if (!wellFormed || password.length > MAX_PASSWORD_CHARS) {
    await derive(password.slice(0, MAX_PASSWORD_CHARS), randomBytes(SALT_BYTES), SCRYPT_PARAMETERS);
    return false;
  }
  const expected = Buffer.from(keyText, "base64url");
  const actual = await derive(password, Buffer.from(saltText, "base64url"), params);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password, made once: a login for an account that does not exist is checked
 * against it, so that it costs the same scrypt work as a wrong password (the two look the same).
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString("base64url"));
  return dummy;
}
