/**
 * The web UI's entry point: renders the console's application into `#app`. Bundled by
 * scripts/bundle-ui.js into dist/console-ui/app.js, which index.html loads.
 */
import { render } from "preact";
import { App } from "./app.js";
import "./styles.css";

const root = document.getElementById("app");
if (root !== null) render(<App />, root);
