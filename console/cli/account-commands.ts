/**
 * `wms-console user add|remove|list|passwd|unlock` and `wms-console token create|list|revoke`:
 * people's accounts and programs' API tokens, in the store of `--data-dir` (the same file a
 * running console uses: a removed account or revoked token stops working at its next request, and
 * a lock lifted by `user unlock` at the name's next login). Each change is written to the
 * console's audit trail as done by `cli:OSUSER`.
 */
import type { Command } from "commander";
import { ROLES, StoreConflictError, type ConsoleStore, type Role } from "../store/store.js";
import { hashPassword, passwordProblem } from "../security/passwords.js";
import { newApiToken, secretDigest } from "../security/secrets.js";
import { loginLockName } from "../security/login-guard.js";
import { MAX_TOKEN_LABEL_CHARS, userNameProblem } from "../store/account-rules.js";
import type { ConsoleIo } from "./io.js";

/** A command-line mistake: exit status 2, nothing changed. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Opens the store of the command's `--data-dir`. */
export type StoreOpener = (command: Command) => Promise<ConsoleStore>;

function checkName(name: string): string {
  const problem = userNameProblem(name);
  if (problem !== undefined) throw new UsageError(problem);
  return name;
}

/** The new password: from standard input (`--password-stdin`: its first line) or the prompt. */
async function newPassword(io: ConsoleIo, fromStdin: boolean, name: string): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = (await io.readStdin()).split(/\r?\n/)[0] ?? "";
  } else {
    if (!io.stdinIsTTY) {
      throw new UsageError(
        "no terminal to ask for the password on: pipe it in with --password-stdin",
      );
    }
    password = await io.promptPassword(`Password for ${name}:`);
    const again = await io.promptPassword("The same password again:");
    if (again !== password) throw new UsageError("the two passwords differ; nothing changed");
  }
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new UsageError(`${problem}; nothing changed`);
  return password;
}

async function cliAudit(
  store: ConsoleStore,
  io: ConsoleIo,
  action: string,
  detail: Record<string, unknown>,
) {
  await store.appendAudit({
    actor: `cli:${io.osUser}`,
    auth: "cli",
    address: "",
    action,
    outcome: "ok",
    hosts: [],
    detail,
  });
}

/** Runs `fn` with the store, closing it after. */
async function withStore<T>(
  open: StoreOpener,
  command: Command,
  fn: (store: ConsoleStore) => Promise<T>,
): Promise<T> {
  const store = await open(command);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Adds the `user` and `token` commands to the program. */
export function addAccountCommands(program: Command, io: ConsoleIo, open: StoreOpener) {
  const user = program
    .command("user")
    .description(
      "people's accounts in the store of --data-dir (add, remove, list, passwd, unlock)",
    );

  user
    .command("add")
    .description("add an account; the password is asked twice, or read from standard input")
    .argument("<name>", "the user name people sign in with")
    .requiredOption("--role <role>", `reader, operator or admin`)
    .option("--password-stdin", "read the password from the first line of standard input")
    .action(
      async (name: string, flags: { role: string; passwordStdin?: boolean }, command: Command) => {
        checkName(name);
        if (!(ROLES as readonly string[]).includes(flags.role)) {
          throw new UsageError(`--role: "${flags.role}" is not a role (${ROLES.join(", ")})`);
        }
        const password = await newPassword(io, flags.passwordStdin === true, name);
        const hash = await hashPassword(password);
        await withStore(open, command, async (store) => {
          try {
            await store.addAccount(name, flags.role as Role, hash);
          } catch (error) {
            if (error instanceof StoreConflictError) throw new UsageError(error.message);
            throw error;
          }
          await cliAudit(store, io, "user.add", { user: name, role: flags.role });
        });
        io.stdout.write(`added ${name} (${flags.role})\n`);
      },
    );

  user
    .command("remove")
    .description("remove an account, its tokens and its sessions")
    .argument("<name>")
    .action(async (name: string, _flags: unknown, command: Command) => {
      await withStore(open, command, async (store) => {
        if (!(await store.removeAccount(name))) {
          throw new UsageError(`there is no account named ${name}`);
        }
        await cliAudit(store, io, "user.remove", { user: name });
      });
      io.stdout.write(`removed ${name}\n`);
    });

  user
    .command("list")
    .description("list the accounts, and until when failed logins lock each")
    .option("-o, --output <format>", "table or json", "table")
    .action(async (flags: { output: string }, command: Command) => {
      const { accounts, locks } = await withStore(open, command, async (store) => ({
        accounts: await store.listAccounts(),
        // A running console writes each lock as it sets or lifts it (login-guard.ts).
        locks: new Map((await store.loginLocks(new Date())).map((lock) => [lock.name, lock.until])),
      }));
      const lockedUntil = (name: string) => locks.get(loginLockName(name))?.toISOString() ?? null;
      if (flags.output === "json") {
        io.stdout.write(
          `${JSON.stringify(
            accounts.map((a) => ({
              name: a.name,
              role: a.role,
              createdAt: a.createdAt.toISOString(),
              passwordChangedAt: a.passwordChangedAt.toISOString(),
              lockedUntil: lockedUntil(a.name),
            })),
            null,
            2,
          )}\n`,
        );
        return;
      }
      if (flags.output !== "table")
        throw new UsageError(`--output: "${flags.output}" is not table or json`);
      const rows = [["NAME", "ROLE", "CREATED", "PASSWORD CHANGED", "LOCKED UNTIL"]];
      for (const a of accounts) {
        rows.push([
          a.name,
          a.role,
          a.createdAt.toISOString(),
          a.passwordChangedAt.toISOString(),
          lockedUntil(a.name) ?? "-",
        ]);
      }
      io.stdout.write(table(rows));
    });

  user
    .command("passwd")
    .description("set a new password (and end the account's browser sessions)")
    .argument("<name>")
    .option("--password-stdin", "read the password from the first line of standard input")
    .action(async (name: string, flags: { passwordStdin?: boolean }, command: Command) => {
      const password = await newPassword(io, flags.passwordStdin === true, name);
      const hash = await hashPassword(password);
      await withStore(open, command, async (store) => {
        if (!(await store.setPassword(name, hash))) {
          throw new UsageError(`there is no account named ${name}`);
        }
        await cliAudit(store, io, "user.passwd", { user: name });
      });
      io.stdout.write(`new password for ${name}; its browser sessions have ended\n`);
    });

  user
    .command("unlock")
    .description(
      "lift the lock that failed logins put on an account; a running console obeys at the next login",
    )
    .argument("<name>")
    .action(async (name: string, _flags: unknown, command: Command) => {
      const until = await withStore(open, command, async (store) => {
        if ((await store.findAccount(name)) === undefined) {
          throw new UsageError(`there is no account named ${name}`);
        }
        // A running console asks the store about a lock it holds at the name's next login
        // (service.ts, storedLoginGuard): gone, it forgets the lock and the name's failures.
        const removed = await store.removeLoginLock(loginLockName(name));
        if (removed === undefined || removed.getTime() <= Date.now()) return undefined;
        await cliAudit(store, io, "user.unlock", {
          user: name,
          lockedUntil: removed.toISOString(),
        });
        return removed;
      });
      io.stdout.write(
        until === undefined
          ? `${name} was not locked; nothing changed\n`
          : `unlocked ${name} (it was locked until ${until.toISOString()})\n`,
      );
    });

  const token = program
    .command("token")
    .description("API tokens for programs (create, list, revoke); a token acts as its account");

  token
    .command("create")
    .description("make a token for an account; it is printed once and stored only hashed")
    .requiredOption("--user <name>", "the account the token acts as")
    .option("--label <text>", "what the token is for", "")
    .action(async (flags: { user: string; label: string }, command: Command) => {
      if (flags.label.length > MAX_TOKEN_LABEL_CHARS) {
        throw new UsageError(`--label has at most ${MAX_TOKEN_LABEL_CHARS} characters`);
      }
      const made = newApiToken();
      await withStore(open, command, async (store) => {
        try {
          await store.addToken({
            id: made.id,
            userName: flags.user,
            label: flags.label,
            secretHash: secretDigest(made.token),
          });
        } catch (error) {
          if (error instanceof TypeError) throw new UsageError(error.message);
          throw error;
        }
        await cliAudit(store, io, "token.create", {
          user: flags.user,
          token: made.id,
          label: flags.label,
        });
      });
      io.stdout.write(`${made.token}\n`);
      io.stderr.write(
        `token ${made.id} for ${flags.user}: it is shown this once; send it as "Authorization: Bearer TOKEN"\n`,
      );
    });

  token
    .command("list")
    .description("list the tokens (their ids and labels, never the secrets)")
    .option("--user <name>", "only this account's")
    .option("-o, --output <format>", "table or json", "table")
    .action(async (flags: { user?: string; output: string }, command: Command) => {
      const tokens = await withStore(open, command, (store) => store.listTokens(flags.user));
      if (flags.output === "json") {
        io.stdout.write(
          `${JSON.stringify(
            tokens.map((t) => ({
              id: t.id,
              user: t.userName,
              label: t.label,
              createdAt: t.createdAt.toISOString(),
              lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
            })),
            null,
            2,
          )}\n`,
        );
        return;
      }
      if (flags.output !== "table")
        throw new UsageError(`--output: "${flags.output}" is not table or json`);
      const rows = [["ID", "USER", "LABEL", "CREATED", "LAST USED"]];
      for (const t of tokens) {
        rows.push([
          t.id,
          t.userName,
          t.label,
          t.createdAt.toISOString(),
          t.lastUsedAt?.toISOString() ?? "never",
        ]);
      }
      io.stdout.write(table(rows));
    });

  token
    .command("revoke")
    .description("revoke a token: it stops working at its next request")
    .argument("<id>", "the token's id (token list shows it)")
    .action(async (id: string, _flags: unknown, command: Command) => {
      await withStore(open, command, async (store) => {
        if (!(await store.revokeToken(id))) throw new UsageError(`there is no token ${id}`);
        await cliAudit(store, io, "token.revoke", { token: id });
      });
      io.stdout.write(`revoked ${id}\n`);
    });
}

/** Rows as aligned columns. */
function table(rows: readonly (readonly string[])[]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}
