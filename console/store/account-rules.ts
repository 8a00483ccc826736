/**
 * What makes an account name and a token label acceptable, for every way in (the `user` and
 * `token` commands, the admin API, the login form's length check).
 */

/** Longest user name, in characters. */
export const MAX_USER_NAME_CHARS = 64;
/** Longest token label, in characters. */
export const MAX_TOKEN_LABEL_CHARS = 128;

/**
 * Why `name` cannot be an account name, or undefined: ASCII letters, digits and `._@-`, 1..64,
 * starting with a letter or digit. ASCII, because the name travels to every agent as the
 * `wmsfleet-actor` header of the actions it makes.
 */
export function userNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]*$/.test(name) || name.length > MAX_USER_NAME_CHARS) {
    return `"${name}" is not a user name (1..${MAX_USER_NAME_CHARS} ASCII letters, digits, ".", "_", "@", "-", starting with a letter or digit)`;
  }
  return undefined;
}
