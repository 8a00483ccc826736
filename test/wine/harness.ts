/**
 * Runs inside the Windows build of Node under Wine (bundled by `wine-env.ts`): drives the real
 * `wts` backend through koffi and writes what happened as JSON to the file named by its second
 * argument, for `wts-wine.test.ts` to assert on from Linux.
 *
 * Scenarios: `builtin` uses Wine's own DLLs; `fake` runs beside the test `wtsapi32.dll`, whose
 * failures are chosen through `WMSFLEET_FAKE_WTS_FAIL` and whose allocation counters are read
 * through its `FakeWtsStats` export (the only reason this test file loads koffi itself).
 */
import { createServer, connect } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { release } from "node:os";
import koffi from "koffi";
import { MessageButtons } from "../../proto/gen/wms/v1/wms_session.js";
import type { SessionBackend } from "../../agent/sessions/backend.js";
import { createWtsBackend } from "../../agent/backends/wts.js";
import { createWindowsPeerResolver } from "../../agent/caller/windows-peer-process.js";
import { harnessSteps } from "./harness-steps.js";

const { scenario, steps, step, write } = harnessSteps();

function setFailure(spec: string | undefined): void {
  if (spec === undefined) delete process.env["WMSFLEET_FAKE_WTS_FAIL"];
  else process.env["WMSFLEET_FAKE_WTS_FAIL"] = spec;
}

async function loopbackPair(
  host: string,
): Promise<{ server: Server; client: Socket; accepted: Socket }> {
  const server = createServer();
  const acceptedP = new Promise<Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const client = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
  });
  return { server, client, accepted: await acceptedP };
}

async function closePair(pair: { server: Server; client: Socket; accepted: Socket }) {
  pair.client.destroy();
  pair.accepted.destroy();
  await new Promise<void>((resolve) => pair.server.close(() => resolve()));
}

/** Protection rule 3 as the agent does it: from the accepted socket to the client's process. */
async function peerSteps(host: string, label: string): Promise<void> {
  const resolve = createWindowsPeerResolver();
  let pair;
  try {
    pair = await loopbackPair(host);
  } catch (error) {
    steps[`${label}Unavailable`] = { value: String(error) };
    return;
  }
  try {
    const { accepted } = pair;
    const peer = { address: accepted.remoteAddress ?? "", port: accepted.remotePort ?? 0 };
    const local = { address: accepted.localAddress ?? "", port: accepted.localPort ?? 0 };
    await step(`${label}Peer`, () => ({ peer, local }));
    await step(`${label}PeerProcess`, () => resolve(peer, local));
    await step(`${label}WildcardPeerProcess`, () =>
      resolve(peer, { address: "::", port: local.port }),
    );
    if (host === "127.0.0.1") {
      const mapped = { address: `::ffff:${peer.address}`, port: peer.port };
      const mappedLocal = { address: `::ffff:${local.address}`, port: local.port };
      await step(`${label}MappedPeerProcess`, () => resolve(mapped, mappedLocal));
    }
    if (host === "127.0.0.1") {
      // The server's own socket is not the client: swapping the ends must not match it.
      await step(`${label}SwappedPeerProcess`, () => resolve(local, peer));
    }
  } finally {
    await closePair(pair);
  }
}

async function common(backend: SessionBackend): Promise<void> {
  await step("name", () => backend.name);
  await step("processId", () => process.pid);
  await step("agentSessionId", () => backend.agentSessionId());
  await step("sessionOfOwnProcess", () => backend.sessionOfProcess(process.pid));
  // Windows process ids are multiples of 4: this one is never in use.
  await step("sessionOfMissingProcess", () => backend.sessionOfProcess(0xfffffffd));
  await step("healthy", () => backend.isHealthy());
  await step("listSessions", () => backend.listSessions());
  await step("disconnectCurrentSession", () =>
    backend.disconnectSession(4294967295, { wait: false }),
  );
}

async function builtin(backend: SessionBackend): Promise<void> {
  await common(backend);
  // Once is enough: under Wine each GetExtendedTcpTable walks every process's sockets.
  await peerSteps("127.0.0.1", "ipv4");
  await peerSteps("::1", "ipv6");
  const own = await backend.agentSessionId();
  await step("disconnectOwnNoWait", () => backend.disconnectSession(own, { wait: false }));
  await step("disconnectMissingWait", () => backend.disconnectSession(4242, { wait: true }));
}

interface FakeStats {
  allocations: number;
  frees: number;
  badFrees: number;
  currentSessionDisconnects: number;
  lastDisconnectId: number;
  lastDisconnectWait: number;
}

async function fake(backend: SessionBackend): Promise<void> {
  const dll = koffi.load("wtsapi32.dll");
  const statsFn = dll.func(
    "void __stdcall FakeWtsStats(_Out_ int32_t *a, _Out_ int32_t *f, _Out_ int32_t *b, _Out_ int32_t *c, _Out_ uint32_t *id, _Out_ int32_t *wait)",
  );
  const layoutFn = dll.func(
    "void __stdcall FakeWtsLayout(_Out_ uint32_t *size, _Out_ uint32_t *user, _Out_ uint32_t *lastInput, _Out_ uint32_t *row)",
  );
  const stats = (): FakeStats => {
    const out: [number][] = [[0], [0], [0], [0], [0], [0]];
    statsFn(...out);
    const [a, f, b, c, id, wait] = out.map((cell) => cell[0]);
    return {
      allocations: a ?? -1,
      frees: f ?? -1,
      badFrees: b ?? -1,
      currentSessionDisconnects: c ?? -1,
      lastDisconnectId: id ?? -1,
      lastDisconnectWait: wait ?? -1,
    };
  };
  await step("layout", () => {
    const out: [number][] = [[0], [0], [0], [0]];
    layoutFn(...out);
    const [size, user, lastInput, row] = out.map((cell) => cell[0]);
    return { size, user, lastInput, row };
  });

  await common(backend);
  // Many lists at once on koffi's worker threads: the DLL's counters must still balance.
  await step("concurrentLists", async () =>
    (await Promise.all(Array.from({ length: 16 }, () => backend.listSessions()))).map(
      (list) => list.length,
    ),
  );

  const failing = async (name: string, spec: string, run: () => unknown) => {
    setFailure(spec);
    try {
      await step(name, run);
    } finally {
      setFailure(undefined);
    }
  };
  await failing("enumerate1722", "enumerate=1722", () => backend.listSessions());
  await failing("health1722", "enumerate=1722", () => backend.isHealthy());
  await failing("enumerate5", "enumerate=5", () => backend.listSessions());
  await failing("queryVanished2", "query:3=2", () => backend.listSessions());
  await failing("queryVanished7022", "query:4=7022", () => backend.listSessions());
  await failing("queryFails5", "query:5=5", () => backend.listSessions());
  await failing("query1722", "query:5=1722", () => backend.listSessions());
  // A logon's groups are read once: a backend that has not read session 5's yet.
  await failing("tokenFails5", "token:5=5", async () => {
    const fresh = await createWtsBackend();
    try {
      return await fresh.listSessions();
    } finally {
      await fresh.close();
    }
  });
  await failing("disconnect7022", "disconnect:4=7022", () =>
    backend.disconnectSession(4, { wait: true }),
  );
  await failing("disconnect2", "disconnect:4=2", () =>
    backend.disconnectSession(4, { wait: true }),
  );
  await failing("disconnect5", "disconnect:4=5", () =>
    backend.disconnectSession(4, { wait: true }),
  );
  await failing("disconnect7007", "disconnect:4=7007", () =>
    backend.disconnectSession(4, { wait: false }),
  );
  await failing("disconnect1722", "disconnect=1722", () =>
    backend.disconnectSession(4, { wait: false }),
  );
  await step("disconnectUnknown", () => backend.disconnectSession(77, { wait: true }));
  await step("disconnectListener", () => backend.disconnectSession(65536, { wait: true }));

  await step("disconnect1Wait", () => backend.disconnectSession(1, { wait: true }));
  await step("afterDisconnect1", () => stats());
  await step("disconnect12NoWait", () => backend.disconnectSession(12, { wait: false }));
  await step("afterDisconnect12", () => stats());
  await step("listAfterDisconnect", () => backend.listSessions());
  await step("healthyAfter", () => backend.isHealthy());
  const eventStats = await familySteps(backend, dll);
  await step("closeThenList", async () => {
    await backend.close();
    return backend.listSessions();
  });
  await step("eventsAfterClose", () => eventStats());
  await step("stats", () => stats());
}

/** Log-off, messages, the lock flag and WTSWaitSystemEvent (issue 12), through the real ABI. */
async function familySteps(backend: SessionBackend, dll: ReturnType<typeof koffi.load>) {
  const layoutEx = dll.func(
    "void __stdcall FakeWtsLayoutEx(_Out_ uint32_t *size, _Out_ uint32_t *flags)",
  );
  const events = dll.func(
    "void __stdcall FakeWtsEvents(_Out_ int32_t *started, _Out_ int32_t *returned, _Out_ int32_t *flushes, _Out_ uint32_t *pending)",
  );
  const raise = dll.func("void __stdcall FakeWtsRaise(uint32_t flags)");
  const lastMessage = dll.func(
    "void __stdcall FakeWtsLastMessage(_Out_ uint16_t *title, _Out_ uint16_t *message, _Out_ uint32_t *titleBytes, _Out_ uint32_t *messageBytes, _Out_ uint32_t *style, _Out_ uint32_t *timeout, _Out_ uint32_t *wait)",
  );
  const eventStats = () => {
    const out: [number][] = [[0], [0], [0], [0]];
    events(...out);
    const [started, returned, flushes, pending] = out.map((cell) => cell[0]);
    return { started, returned, flushes, pending };
  };
  await step("osRelease", () => release());
  await step("layoutEx", () => {
    const out: [number][] = [[0], [0]];
    layoutEx(...out);
    return { size: out[0]?.[0], sessionFlags: out[1]?.[0] };
  });
  await step("locks", async () =>
    (await backend.listSessions()).filter((s) => s.locked).map((s) => s.sessionId),
  );

  // Messages: the title and text arrive whole (lengths in bytes), each answer mapped.
  const readMessage = () => {
    const title = new Uint16Array(300);
    const text = new Uint16Array(4200);
    const out: [number][] = [[0], [0], [0], [0], [0]];
    lastMessage(title, text, ...out);
    const decode = (units: Uint16Array) => {
      const end = units.indexOf(0);
      return Buffer.from(units.buffer, 0, (end === -1 ? units.length : end) * 2).toString(
        "utf16le",
      );
    };
    const [titleBytes, messageBytes, style, timeout, wait] = out.map((cell) => cell[0]);
    return {
      title: decode(title),
      text: decode(text),
      titleBytes,
      messageBytes,
      style,
      timeout,
      wait,
    };
  };
  const box = {
    title: "Ms Żabińska 😀",
    text: "Save your work: the room closes in 5 minutes.",
    buttons: MessageButtons.YES_NO,
    timeoutSeconds: 30,
  };
  await step("messageNoWait", () => backend.sendMessage(13, { ...box, wait: false }));
  await step("messageNoWaitSeen", () => readMessage());
  await step("messageTimeout", () => backend.sendMessage(13, { ...box, wait: true }));
  await step("messageTimeoutSeen", () => readMessage());
  setFailure("answer:13=6");
  await step("messageYes", () => backend.sendMessage(13, { ...box, wait: true }));
  setFailure("message:13=7007");
  await step("message7007", () => backend.sendMessage(13, { ...box, wait: false }));
  setFailure(undefined);
  await step("messageMissing", () => backend.sendMessage(77, { ...box, wait: false }));

  // WTSWaitSystemEvent: news of a log-off and a raised event reach the listener; the last
  // listener leaving flushes the waiting thread.
  let heard = 0;
  let notify: (() => void) | undefined;
  const heardOnce = () => new Promise<void>((resolve) => (notify = resolve));
  const stop = backend.watchChanges?.(() => {
    heard++;
    notify?.();
  });
  const untilWaiting = async (count: number) => {
    // A condition, not a sleep: the worker thread has entered WTSWaitSystemEvent.
    while ((eventStats().started ?? 0) < count) await new Promise((r) => setTimeout(r, 5));
  };
  await untilWaiting(1);
  let next = heardOnce();
  await step("logoff13", () => backend.logoffSession(13, { wait: true }));
  await next;
  await step("heardLogoff", () => heard);
  await step("afterLogoff13", async () =>
    (await backend.listSessions()).find((s) => s.sessionId === 13),
  );
  await untilWaiting(2);
  next = heardOnce();
  raise(0x20); // WTS_EVENT_LOGON
  await next;
  await step("heardRaised", () => heard);
  await step("logoffListener", () => backend.logoffSession(65536, { wait: false }));
  await step("logoffMissing", () => backend.logoffSession(77, { wait: true }));
  setFailure("logoff:4=5");
  await step("logoff5", () => backend.logoffSession(4, { wait: false }));
  setFailure(undefined);
  await untilWaiting(3);
  stop?.();
  await step("eventsAfterStop", async () => {
    while (eventStats().returned !== eventStats().started)
      await new Promise((r) => setTimeout(r, 5));
    return eventStats();
  });
  // Listening again, then closed while waiting: close flushes and returns.
  backend.watchChanges?.(() => undefined);
  await untilWaiting(4);
  return eventStats;
}

async function main(): Promise<void> {
  let backend: SessionBackend | undefined;
  try {
    backend = await createWtsBackend();
    if (scenario === "builtin") await builtin(backend);
    else if (scenario === "fake") await fake(backend);
    else throw new Error(`unknown scenario ${scenario}`);
    write();
  } catch (error) {
    write(error instanceof Error ? error.stack : String(error));
  } finally {
    await backend?.close();
  }
}

await main();
