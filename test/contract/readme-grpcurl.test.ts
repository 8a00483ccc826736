/**
 * The README's grpcurl examples are true: each `$ grpcurl-dev …` line of its console block runs
 * against an agent set up as `npm start`'s (the shipped classroom, mutual TLS, the development
 * client as `operator`), through a client that reads the schema by server reflection the way
 * grpcurl does and makes every request and answer from that schema alone. Where the README shows
 * output, the answer must be it: `list` line by line, a call's JSON as a value.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { Client, credentials, type ChannelCredentials } from "@grpc/grpc-js";
import type { FileRegistry, JsonValue } from "@bufbuild/protobuf";
import { defaultSimFixture } from "../../agent/backends/sim-fixture.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { startAgent } from "../../agent/server/agent.js";
import { createAccessPolicy } from "../../agent/security/authorization.js";
import { createTlsCredentials } from "../../agent/security/tls-credentials.js";
import { agentTlsMaterial } from "../helpers/tls-agent.js";
import { callWithJson, openReflection, SchemaReader } from "../helpers/reflection-client.js";
import { createTestCa } from "../helpers/test-pki.js";

/** The host the README's answers come from. */
const README_HOST = "mps01.lab.example.com";
/** The moment of the README's answers: a school morning, as the classroom fixture has it. */
const README_NOW = Date.parse("2026-03-10T09:00:00Z");
/** The development client's identity and its role under `npm start` (scripts/dev-agent.ts). */
const DEV_CLIENT = "dev-operator";

/** One `$ grpcurl-dev ARGS` line of the README and the output shown under it. */
interface Example {
  readonly line: string;
  readonly args: readonly string[];
  readonly output: readonly string[];
}

/** The examples of the README's console block that defines the `grpcurl-dev` alias. */
function readmeExamples(): Example[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = readme.split(/^```[a-z]*$/m).find((text) => text.includes("alias grpcurl-dev="));
  assert.ok(block, "README has a console block with the grpcurl-dev alias");
  const examples: { line: string; args: string[]; output: string[] }[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("$ grpcurl-dev ")) {
      examples.push({ line, args: shellWords(line.slice("$ grpcurl-dev ".length)), output: [] });
    } else if (!line.startsWith("$ ") && line !== "") {
      examples.at(-1)?.output.push(line);
    }
  }
  return examples;
}

/** Splits a command line into words: spaces separate, single quotes keep text whole. */
function shellWords(text: string): string[] {
  return [...text.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? "");
}

it("README: every grpcurl example works as shown, against an agent set up as npm start's", async (t) => {
  const examples = readmeExamples();
  assert.ok(
    examples.some((e) => e.args.includes("describe")) && examples.some((e) => e.args[0] === "-d"),
    "the README shows describe and a call with a JSON body",
  );

  const ca = await createTestCa("wmsfleet README test CA");
  const agentCert = await ca.issueServer(["localhost"], ["127.0.0.1"]);
  const client = await ca.issueClient(DEV_CLIENT);
  const material = await agentTlsMaterial(t, ca, agentCert);
  // The clock stands still at the README's moment: last inputs and idle times are the
  // classroom's own, as the README shows them.
  const now = () => README_NOW;
  const agent = await startAgent({
    hostFqdn: README_HOST,
    backend: createSimulatedBackend({ fixture: defaultSimFixture(), env: {}, now }),
    now,
    credentials: createTlsCredentials(material).credentials,
    authorize: createAccessPolicy(new Map([[DEV_CLIENT, "operator"]])).authorize,
    healthIntervalMs: 60_000,
  });
  const address = `127.0.0.1:${agent.ports[0]}`;
  const channel: ChannelCredentials = credentials.createSsl(
    Buffer.from(ca.cert),
    Buffer.from(client.key),
    Buffer.from(client.cert),
  );
  // grpcurl dials localhost:50061 and checks the certificate against "localhost".
  const options = { "grpc.ssl_target_name_override": "localhost" };
  const stream = openReflection(address, "v1", channel, options);
  const caller = new Client(address, channel, options);
  t.after(async () => {
    await stream.close();
    caller.close();
    await agent.shutdown({ graceMs: 5000 });
  });
  const reader = new SchemaReader(stream);

  for (const example of examples) {
    const { line } = example;
    let args = [...example.args];
    let body: JsonValue = {};
    if (args[0] === "-d") {
      body = JSON.parse(args[1] ?? "") as JsonValue;
      args = args.slice(2);
    }
    const [target, command, symbol, ...extra] = args;
    assert.equal(target, "localhost:50061", line);
    assert.deepEqual(extra, [], line);
    if (command === "list") {
      assert.deepEqual(await reader.listServices(), example.output, line);
    } else if (command === "describe") {
      assert.ok(symbol !== undefined, line);
      const { pool } = await reader.resolveSymbol(symbol);
      assert.ok(described(pool, symbol), `${line}: ${symbol} is in the reflected schema`);
      assert.deepEqual(example.output, [], `${line}: no output shown, none checked`);
    } else {
      const [serviceName, methodName] = (command ?? "").split("/");
      assert.ok(serviceName !== undefined && methodName !== undefined, line);
      const { pool } = await reader.resolveSymbol(serviceName);
      const method = pool.getService(serviceName)?.methods.find((m) => m.name === methodName);
      assert.ok(method, line);
      const answer = await callWithJson(caller, method, body);
      if (example.output.length > 0) {
        assert.deepEqual(answer, JSON.parse(example.output.join("\n")), line);
      }
    }
  }
});

/** Whether `symbol` names a service, method, message or enum of `pool`. */
function described(pool: FileRegistry, symbol: string): boolean {
  if (pool.get(symbol) !== undefined) return true;
  const dot = symbol.lastIndexOf(".");
  const service = pool.getService(symbol.slice(0, dot));
  return service?.methods.some((method) => method.name === symbol.slice(dot + 1)) ?? false;
}
