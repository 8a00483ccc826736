/** Signing in: a user name and a password, and the console's answer when it refuses. */
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { WhoAmI } from "../../api/types.js";
import { ApiProblem, type ApiClient } from "../api/client.js";

/** The sign-in form. */
export function LoginPage(props: {
  readonly api: ApiClient;
  readonly onSignedIn: (who: WhoAmI) => void;
  /** Why the person is here again (their session ended). */
  readonly notice?: string | undefined;
}): JSX.Element {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | undefined>(undefined);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      props.onSignedIn(await props.api.login(user, password));
    } catch (error) {
      setProblem(ApiProblem.from(error));
      setPassword("");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login" id="main">
      <form
        class="login-card"
        onSubmit={(event) => void submit(event)}
        aria-labelledby="login-title"
      >
        <h1 id="login-title">Sign in to wms-console</h1>
        {props.notice !== undefined && problem === undefined && (
          <p class="notice" role="status">
            {props.notice}
          </p>
        )}
        {problem !== undefined && (
          <p class="problem" role="alert">
            {problem.code === "invalid_credentials"
              ? "Wrong user name or password."
              : problem.code === "too_many_attempts"
                ? `Too many failed sign-ins: ${problem.message}.`
                : `Signing in failed: ${problem.message}.`}
          </p>
        )}
        <label>
          User name
          <input
            name="user"
            autoComplete="username"
            required
            value={user}
            onInput={(event) => setUser(event.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(event) => setPassword(event.currentTarget.value)}
          />
        </label>
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
