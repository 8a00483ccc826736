/**
 * A TCP relay inside the Windows build of Node under Wine (bundled by `wine-env.ts`), for
 * `agent-wine.test.ts`: it listens on `127.0.0.1:0`, writes its port to the file named by its first
 * argument, and forwards every connection to the address in its second.
 *
 * Why: the agent's protection rule 3 names a local caller through `GetExtendedTcpTable`, and Wine
 * lists a Linux process's socket without an owner, so the agent refuses every change a Linux
 * `wmsctl` asks over loopback (it fails closed). Through the relay, the same Linux `wmsctl` reaches
 * the agent from a Windows process the agent can name (in Wine's session 1), as a local
 * administrator's tool would, and its log-offs are acted on.
 */
import { renameSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";

const [portFile = "", target = ""] = process.argv.slice(2);
const colon = target.lastIndexOf(":");
const host = target.slice(0, colon);
const port = Number(target.slice(colon + 1));
if (portFile === "" || colon < 0 || !Number.isInteger(port)) {
  throw new Error(`usage: relay-harness PORT_FILE HOST:PORT (got "${portFile}" "${target}")`);
}

const server = createServer((incoming) => {
  const outgoing = connect({ host, port });
  incoming.pipe(outgoing);
  outgoing.pipe(incoming);
  // Either side closing or failing ends both: a relay holds nothing of its own.
  incoming.on("error", () => outgoing.destroy());
  outgoing.on("error", () => incoming.destroy());
  incoming.on("close", () => outgoing.destroy());
  outgoing.on("close", () => incoming.destroy());
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  // Written beside, then renamed over: the test never reads half a port number.
  writeFileSync(`${portFile}.tmp`, String(address.port));
  renameSync(`${portFile}.tmp`, portFile);
});
