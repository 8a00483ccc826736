/**
 * The application shell: who is signed in, the navigation, and the page the address's hash names.
 */
import type { JSX } from "preact";

/** The console's UI. */
export function App(): JSX.Element {
  return (
    <div class="shell">
      <header class="topbar">
        <span class="brand">wms-console</span>
      </header>
      <main class="page" id="main">
        <h1>wms-console</h1>
      </main>
    </div>
  );
}
