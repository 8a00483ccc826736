/**
 * The application: who is signed in, the fleet kept live while they are, the navigation, and the
 * page the address's hash names (`#/`, `#/sessions`, `#/hosts/NAME`, `#/policies`, `#/history`,
 * `#/history?host=NAME`, `#/history?user=NAME`, `#/audit`, `#/accounts` for admins), so a page
 * can be bookmarked and reloaded and the console serves one static page.
 */
import type { JSX } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { WhoAmI } from "../api/types.js";
import { ApiClient } from "./api/client.js";
import { followEvents, type StreamState } from "./api/fleet-api.js";
import { ProblemBanner } from "./components/problem.js";
import { useHashRoute } from "./hooks.js";
import { FleetStore } from "./store/fleet-store.js";
import { AccountsPage } from "./views/accounts-page.js";
import { AuditPage } from "./views/audit-page.js";
import { HistoryPageView } from "./views/history-page.js";
import { PoliciesPage } from "./views/policies-page.js";
import { HostPage } from "./views/host-page.js";
import { LoginPage } from "./views/login-page.js";
import { OverviewPage } from "./views/overview-page.js";
import { SessionsPage } from "./views/sessions-page.js";

type Auth =
  | { readonly state: "checking" }
  | { readonly state: "signed-out"; readonly notice?: string }
  | { readonly state: "signed-in"; readonly who: WhoAmI };

/** The console's UI. */
export function App(): JSX.Element {
  const [auth, setAuth] = useState<Auth>({ state: "checking" });
  const [problem, setProblem] = useState<unknown>(undefined);
  const api = useMemo(
    () =>
      new ApiClient({
        onSignedOut: () =>
          setAuth({ state: "signed-out", notice: "Your session ended. Sign in again." }),
      }),
    [],
  );
  useEffect(() => {
    api
      .me()
      .then((who) =>
        setAuth(who === undefined ? { state: "signed-out" } : { state: "signed-in", who }),
      )
      .catch((error: unknown) => {
        setProblem(error);
        setAuth({ state: "signed-out" });
      });
  }, [api]);

  if (auth.state === "checking") {
    return (
      <main class="login" id="main">
        <p role="status">Connecting to the console…</p>
      </main>
    );
  }
  if (auth.state === "signed-out") {
    return (
      <>
        {problem !== undefined && <ProblemBanner doing="Reaching the console" problem={problem} />}
        <LoginPage
          api={api}
          notice={auth.notice}
          onSignedIn={(who) => {
            setProblem(undefined);
            setAuth({ state: "signed-in", who });
          }}
        />
      </>
    );
  }
  return (
    <SignedIn
      api={api}
      who={auth.who}
      onSignedOut={() => setAuth({ state: "signed-out", notice: "You signed out." })}
    />
  );
}

/** The pages of a signed-in person, with the fleet live behind them. */
function SignedIn(props: {
  readonly api: ApiClient;
  readonly who: WhoAmI;
  readonly onSignedOut: () => void;
}): JSX.Element {
  const { api, who } = props;
  const route = useHashRoute();
  const [stream, setStream] = useState<StreamState>("connecting");
  const [problem, setProblem] = useState<unknown>(undefined);
  const [attempt, setAttempt] = useState(0);
  // A flooded store drops its queue: opening the stream again brings a fresh snapshot.
  const store = useMemo(
    () => new FleetStore({ onOverflow: () => setAttempt((n) => n + 1) }),
    [api],
  );
  const canAct = who.role !== "reader";
  const isAdmin = who.role === "admin";

  useEffect(() => followEvents(api, store, setStream, setProblem), [api, store, attempt]);
  useEffect(() => () => store.close(), [store]);

  const signOut = async () => {
    try {
      await api.logout();
    } catch (error) {
      setProblem(error);
      return;
    }
    props.onSignedOut();
  };

  const hostMatch = /^\/hosts\/(.+)$/.exec(route);
  const page =
    hostMatch?.[1] !== undefined ? (
      <HostPage api={api} store={store} name={hostMatch[1]} canAct={canAct} />
    ) : route === "/sessions" ? (
      <SessionsPage api={api} store={store} canAct={canAct} />
    ) : route === "/audit" ? (
      <AuditPage api={api} />
    ) : route === "/policies" ? (
      <PoliciesPage api={api} canEdit={isAdmin} />
    ) : route === "/history" || route.startsWith("/history?") ? (
      <HistoryPageView api={api} query={route.slice("/history".length)} />
    ) : route === "/accounts" ? (
      isAdmin ? (
        <AccountsPage api={api} me={who.user} />
      ) : (
        <p role="status">Only admins manage accounts.</p>
      )
    ) : (
      <OverviewPage store={store} />
    );
  const current = (path: string) =>
    (
      path === "/hosts"
        ? route === "/" || route.startsWith("/hosts")
        : route === path || route.startsWith(`${path}?`)
    )
      ? "page"
      : undefined;

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">wms-console</span>
        <nav aria-label="Pages">
          <a href="#/" aria-current={current("/hosts")}>
            Fleet
          </a>
          <a href="#/sessions" aria-current={current("/sessions")}>
            Sessions
          </a>
          <a href="#/policies" aria-current={current("/policies")}>
            Policies
          </a>
          <a href="#/history" aria-current={current("/history")}>
            History
          </a>
          <a href="#/audit" aria-current={current("/audit")}>
            Audit
          </a>
          {isAdmin && (
            <a href="#/accounts" aria-current={current("/accounts")}>
              Accounts
            </a>
          )}
        </nav>
        <span class={`live live-${stream}`} role="status" aria-label={`Updates: ${stream}`}>
          <span class="dot" aria-hidden="true" />
          {stream === "live" ? "live" : stream === "connecting" ? "connecting…" : "reconnecting…"}
        </span>
        <span class="spacer" />
        <span class="who">
          Signed in as <strong>{who.user}</strong>{" "}
          <span class={`role role-${who.role}`}>{who.role}</span>
        </span>
        <button type="button" class="button small" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      {problem !== undefined && (
        <ProblemBanner
          doing="Loading the fleet"
          problem={problem}
          onRetry={() => setAttempt(attempt + 1)}
        />
      )}
      <main class="page" id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}
