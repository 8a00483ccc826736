/**
 * People's accounts and API tokens, for admins (`#/accounts`): every account with its role and
 * whether failed logins lock it; add one (the password twice), change a role, set a password,
 * lift a lock, remove one (after a confirmation); make a token (its secret shown once, with a copy
 * button and a warning), list them, revoke one (after a confirmation). What the API refuses is
 * shown in its own words. An admin's own role and account are not offered for change: the API
 * refuses both, so an admin is always left.
 */
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiRole, ApiToken, ApiUser, NewToken } from "../../api/types.js";
import type { ApiClient } from "../api/client.js";
import {
  addUser,
  createToken,
  listTokens,
  listUsers,
  removeUser,
  revokeToken,
  setPassword,
  setRole,
  unlockUser,
} from "../api/accounts-api.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { ProblemBanner } from "../components/problem.js";
import { formatTime } from "../format.js";
import { useModalDialog, useNow } from "../hooks.js";

/** The roles, least first, as the API names them. */
const ROLES: readonly ApiRole[] = ["reader", "operator", "admin"];

/** What each role may do, for the role pickers' help. */
const ROLE_HELP =
  "Roles: reader sees; operator also acts on sessions; admin also manages accounts and policies";

/**
 * A role picker offering {@link ROLES}: an account's row names it with `label` (its `aria-label`),
 * the add form by the `<label>` around it, with {@link ROLE_HELP} as its `title`.
 */
function RoleSelect(props: {
  readonly value: ApiRole;
  readonly onChange: (role: ApiRole) => void;
  readonly label?: string | undefined;
  readonly title?: string | undefined;
}): JSX.Element {
  return (
    <select
      aria-label={props.label}
      title={props.title}
      value={props.value}
      onChange={(event) => props.onChange(event.currentTarget.value as ApiRole)}
    >
      {ROLES.map((role) => (
        <option key={role} value={role}>
          {role}
        </option>
      ))}
    </select>
  );
}

/** What the page is asking about, if anything. */
type Question =
  | { readonly kind: "remove"; readonly user: string }
  | { readonly kind: "revoke"; readonly token: ApiToken }
  | { readonly kind: "password"; readonly user: string };

/** The Accounts page. */
export function AccountsPage(props: { readonly api: ApiClient; readonly me: string }): JSX.Element {
  const { api } = props;
  const now = useNow(15_000);
  const [users, setUsers] = useState<ApiUser[] | undefined>(undefined);
  const [tokens, setTokens] = useState<ApiToken[] | undefined>(undefined);
  const [problem, setProblem] = useState<{ doing: string; error: unknown } | undefined>();
  const [notice, setNotice] = useState("");
  const [question, setQuestion] = useState<Question | undefined>(undefined);
  const [made, setMade] = useState<NewToken | undefined>(undefined);
  const [attempt, setAttempt] = useState(0);

  const reload = async (signal?: AbortSignal) => {
    try {
      const [u, t] = await Promise.all([listUsers(api, signal), listTokens(api, signal)]);
      setUsers(u);
      setTokens(t);
    } catch (error) {
      if (!signal?.aborted) setProblem({ doing: "Loading the accounts", error });
    }
  };
  useEffect(() => {
    const controller = new AbortController();
    void reload(controller.signal);
    return () => controller.abort();
  }, [attempt]);

  /** Runs a change, says it was done, and reads the lists again; a refusal stays on screen. */
  const change = async (doing: string, done: string, run: () => Promise<void>) => {
    setProblem(undefined);
    setNotice("");
    try {
      await run();
    } catch (error) {
      setProblem({ doing, error });
      return false;
    }
    setNotice(done);
    await reload();
    return true;
  };

  return (
    <section class="accounts" aria-labelledby="accounts-title">
      <h1 id="accounts-title">Accounts</h1>
      <p class="muted">
        People sign in with an account; programs use API tokens, which act with their account's
        role. {ROLE_HELP}.
      </p>
      {problem !== undefined && (
        <ProblemBanner
          doing={problem.doing}
          problem={problem.error}
          onRetry={users === undefined ? () => setAttempt(attempt + 1) : undefined}
        />
      )}
      <p class="notice" role="status">
        {notice}
      </p>

      <h2 id="people-title">People</h2>
      <table class="table" aria-labelledby="people-title" aria-busy={users === undefined}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Sign-in</th>
            <th scope="col">Password set</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(users ?? []).map((user) => {
            const self = user.name === props.me;
            const lockedUntil =
              user.lockedUntil === null ? undefined : Date.parse(user.lockedUntil);
            const locked = lockedUntil !== undefined && lockedUntil > now;
            return (
              <tr key={user.name}>
                <th scope="row">
                  {user.name}
                  {self && <span class="muted"> (you)</span>}
                </th>
                <td>
                  {self ? (
                    <>
                      {user.role}
                      <span class="muted"> (another admin can change it)</span>
                    </>
                  ) : (
                    <RoleSelect
                      label={`Role of ${user.name}`}
                      value={user.role}
                      onChange={(role) =>
                        void change(
                          `Changing the role of ${user.name}`,
                          `${user.name} is now ${role}.`,
                          () => setRole(api, user.name, role),
                        )
                      }
                    />
                  )}
                </td>
                <td>
                  {locked ? (
                    <span class="badge status-unreachable">
                      <span class="dot" aria-hidden="true" />
                      locked until {formatTime(lockedUntil, now)}
                    </span>
                  ) : (
                    <span class="muted">allowed</span>
                  )}
                </td>
                <td>{formatTime(Date.parse(user.passwordChangedAt), now)}</td>
                <td class="row-actions">
                  {locked && (
                    <button
                      type="button"
                      class="button small"
                      onClick={() =>
                        void change(
                          `Unlocking ${user.name}`,
                          `${user.name} can sign in again.`,
                          () => unlockUser(api, user.name),
                        )
                      }
                    >
                      Unlock {user.name}
                    </button>
                  )}
                  <button
                    type="button"
                    class="button small"
                    onClick={() => setQuestion({ kind: "password", user: user.name })}
                  >
                    Set password of {user.name}…
                  </button>
                  {!self && (
                    <button
                      type="button"
                      class="button small danger"
                      onClick={() => setQuestion({ kind: "remove", user: user.name })}
                    >
                      Remove {user.name}…
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>

      <AddUserForm
        onAdd={(name, role, password) =>
          change(`Adding ${name || "the account"}`, `Added ${name} (${role}).`, () =>
            addUser(api, { name, role, password }),
          )
        }
      />

      <h2 id="tokens-title">API tokens</h2>
      {made !== undefined && <NewTokenPanel token={made} onDone={() => setMade(undefined)} />}
      <table class="table" aria-labelledby="tokens-title" aria-busy={tokens === undefined}>
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">Account</th>
            <th scope="col">Label</th>
            <th scope="col">Made</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens?.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                No tokens.
              </td>
            </tr>
          )}
          {(tokens ?? []).map((token) => (
            <tr key={token.id}>
              <th scope="row">
                <code>{token.id}</code>
              </th>
              <td>{token.user}</td>
              <td>{token.label}</td>
              <td>{formatTime(Date.parse(token.createdAt), now)}</td>
              <td>
                {token.lastUsedAt === null
                  ? "never"
                  : formatTime(Date.parse(token.lastUsedAt), now)}
              </td>
              <td class="row-actions">
                <button
                  type="button"
                  class="button small danger"
                  onClick={() => setQuestion({ kind: "revoke", token })}
                >
                  Revoke {token.id}…
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <NewTokenForm
        users={(users ?? []).map((user) => user.name)}
        onCreate={async (user, label) => {
          setMade(undefined);
          let token: NewToken | undefined;
          const done = await change(
            `Making a token for ${user}`,
            `Made token for ${user}.`,
            async () => {
              token = await createToken(api, { user, label });
            },
          );
          if (done && token !== undefined) setMade(token);
          return done;
        }}
      />

      {question?.kind === "remove" && (
        <ConfirmDialog
          title={`Remove the account ${question.user}?`}
          confirm={`Remove ${question.user}`}
          onClose={() => setQuestion(undefined)}
          onConfirm={async () => {
            await removeUser(api, question.user);
            setNotice(`Removed ${question.user}, with its tokens and browser sessions.`);
            await reload();
          }}
        >
          <p>
            {question.user} can no longer sign in; their browser sessions end now and their API
            tokens are revoked. The audit trail keeps what they did.
          </p>
        </ConfirmDialog>
      )}
      {question?.kind === "revoke" && (
        <ConfirmDialog
          title={`Revoke the token ${question.token.id}?`}
          confirm={`Revoke ${question.token.id}`}
          onClose={() => setQuestion(undefined)}
          onConfirm={async () => {
            await revokeToken(api, question.token.id);
            setNotice(`Revoked ${question.token.id}.`);
            await reload();
          }}
        >
          <p>
            Programs using it ({question.token.user}
            {question.token.label === "" ? "" : `, “${question.token.label}”`}) are refused from
            their next request.
          </p>
        </ConfirmDialog>
      )}
      {question?.kind === "password" && (
        <PasswordDialog
          user={question.user}
          onClose={() => setQuestion(undefined)}
          onSet={async (password) => {
            await setPassword(api, question.user, password);
            setNotice(`New password for ${question.user}; their browser sessions have ended.`);
            await reload();
          }}
        />
      )}
    </section>
  );
}

/** What the two password fields hold, and the check that the second repeats the first. */
interface PasswordPair {
  readonly password: string;
  readonly again: string;
  /** The last {@link PasswordPair.agree} found the two different. */
  readonly mismatch: boolean;
  readonly setPassword: (value: string) => void;
  readonly setAgain: (value: string) => void;
  /** Whether the two are the same; when they are not, `mismatch` says so until the next check. */
  readonly agree: () => boolean;
  /** Empties both fields. */
  readonly clear: () => void;
}

/** The state of a form's two password fields. */
function usePasswordPair(): PasswordPair {
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [mismatch, setMismatch] = useState(false);
  return {
    password,
    again,
    mismatch,
    setPassword,
    setAgain,
    agree: () => {
      setMismatch(password !== again);
      return password === again;
    },
    clear: () => {
      setPassword("");
      setAgain("");
    },
  };
}

/** Says that the two passwords differ, when the last check found so; nothing otherwise. */
function PasswordMismatch(props: { readonly pair: PasswordPair }): JSX.Element | null {
  return props.pair.mismatch ? (
    <p class="problem" role="alert">
      The two passwords differ; nothing was changed.
    </p>
  ) : null;
}

/** The two password fields; the second must repeat the first. */
function PasswordFields(props: {
  readonly pair: PasswordPair;
  readonly autoFocus?: boolean;
  /** Unique on the page: the help text's id starts with it. */
  readonly id: string;
}): JSX.Element {
  return (
    <>
      <label>
        Password
        <input
          type="password"
          autoComplete="new-password"
          value={props.pair.password}
          autoFocus={props.autoFocus}
          aria-describedby={`${props.id}-help`}
          onInput={(event) => props.pair.setPassword(event.currentTarget.value)}
        />
      </label>
      <span id={`${props.id}-help`} class="help">
        12 to 1,024 characters
      </span>
      <label>
        Password again
        <input
          type="password"
          autoComplete="new-password"
          value={props.pair.again}
          onInput={(event) => props.pair.setAgain(event.currentTarget.value)}
        />
      </label>
    </>
  );
}

/** Adding an account: name, role, the password twice. */
function AddUserForm(props: {
  readonly onAdd: (name: string, role: ApiRole, password: string) => Promise<boolean>;
}): JSX.Element {
  const [name, setName] = useState("");
  const [role, setRoleValue] = useState<ApiRole>("reader");
  const pair = usePasswordPair();
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="inline-form"
      aria-labelledby="add-title"
      onSubmit={(event) => {
        event.preventDefault();
        if (!pair.agree()) return;
        setBusy(true);
        void props.onAdd(name.trim(), role, pair.password).then((added) => {
          setBusy(false);
          if (!added) return;
          setName("");
          pair.clear();
        });
      }}
    >
      <h3 id="add-title">Add an account</h3>
      <label>
        Name
        <input
          value={name}
          autoComplete="off"
          spellcheck={false}
          onInput={(event) => setName(event.currentTarget.value)}
        />
      </label>
      <label>
        Role
        <RoleSelect value={role} title={ROLE_HELP} onChange={setRoleValue} />
      </label>
      <PasswordFields pair={pair} id="add-password" />
      <button type="submit" class="button primary" disabled={busy}>
        Add account
      </button>
      <PasswordMismatch pair={pair} />
    </form>
  );
}

/** Setting an account's password: twice, in a dialog. */
function PasswordDialog(props: {
  readonly user: string;
  readonly onSet: (password: string) => Promise<void>;
  readonly onClose: () => void;
}): JSX.Element {
  const dialog = useModalDialog();
  const pair = usePasswordPair();
  const [mistake, setMistake] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <dialog
      ref={dialog}
      class="dialog confirm"
      aria-labelledby="password-title"
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) props.onClose();
      }}
    >
      <h2 id="password-title">Set the password of {props.user}</h2>
      <p>Their browser sessions end; their API tokens keep working.</p>
      <form
        class="compose"
        onSubmit={(event) => {
          event.preventDefault();
          if (!pair.agree()) return;
          setMistake(undefined);
          setBusy(true);
          props.onSet(pair.password).then(props.onClose, (error: unknown) => {
            setMistake(error);
            setBusy(false);
          });
        }}
      >
        <PasswordFields pair={pair} autoFocus id="set-password" />
        <PasswordMismatch pair={pair} />
        {mistake !== undefined && <ProblemBanner doing="Setting the password" problem={mistake} />}
        <div class="dialog-buttons">
          <button type="button" class="button" onClick={props.onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="button primary" disabled={busy}>
            Set password
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** Making a token: for which account, with what label. */
function NewTokenForm(props: {
  readonly users: readonly string[];
  readonly onCreate: (user: string, label: string) => Promise<boolean>;
}): JSX.Element {
  const [user, setUser] = useState("");
  const [label, setLabel] = useState("");
  const [busy, setBusy] = useState(false);
  const chosen = user === "" ? (props.users[0] ?? "") : user;
  return (
    <form
      class="inline-form"
      aria-labelledby="token-form-title"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        void props.onCreate(chosen, label.trim()).then((made) => {
          setBusy(false);
          if (made) setLabel("");
        });
      }}
    >
      <h3 id="token-form-title">Make a token</h3>
      <label>
        For account
        <select value={chosen} onChange={(event) => setUser(event.currentTarget.value)}>
          {props.users.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Label
        <input
          value={label}
          maxLength={128}
          placeholder="nightly-report"
          onInput={(event) => setLabel(event.currentTarget.value)}
        />
      </label>
      <button type="submit" class="button primary" disabled={busy || chosen === ""}>
        Make token
      </button>
    </form>
  );
}

/** A token just made: its secret, once, with a copy button and a warning. */
function NewTokenPanel(props: { readonly token: NewToken; readonly onDone: () => void }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string>("");
  useEffect(() => field.current?.focus(), [props.token.token]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.token.token);
      setCopied("Copied to the clipboard.");
    } catch {
      // No clipboard (a page not served over HTTPS): the text is selected for Ctrl+C instead.
      field.current?.select();
      setCopied("The browser would not copy it: it is selected, press Ctrl+C.");
    }
  };
  return (
    <section class="new-token" aria-labelledby="new-token-title">
      <h3 id="new-token-title">
        Token {props.token.id} for {props.token.user}
      </h3>
      <p class="warning" role="alert">
        Copy this token now: it is shown this once and cannot be shown again. Keep it as you would a
        password; anyone who has it acts as {props.token.user}.
      </p>
      <div class="token-row">
        <input
          ref={field}
          readOnly
          value={props.token.token}
          aria-label="The new token"
          spellcheck={false}
          onFocus={(event) => event.currentTarget.select()}
        />
        <button type="button" class="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" class="button" onClick={props.onDone}>
          Done
        </button>
      </div>
      <p class="muted" role="status">
        {copied}
      </p>
    </section>
  );
}
