/**
 * An in-process agent on 127.0.0.1:0 with a simulated backend and a generated client, torn down
 * after the test. Used by the agent's integration tests.
 */
import type { TestContext } from "node:test";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { startAgent, type Agent, type AgentOptions } from "../../agent/server/agent.js";
import type { SessionBackend } from "../../agent/sessions/backend.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import {
  DisconnectAllRequest,
  DisconnectRequest,
  ListSessionsRequest,
  LogoffAllRequest,
  LogoffRequest,
  SendMessageRequest,
  WmsSessionServiceClient,
  type DisconnectAllResponse,
  type DisconnectResponse,
  type GetAgentInfoResponse,
  type ListSessionsResponse,
  type LogoffAllResponse,
  type LogoffResponse,
  type SendMessageResponse,
} from "../../proto/gen/wms/v1/wms_session.js";

/** The host name test agents answer to. */
export const TEST_HOST = "mps01.lab.example.com";

/**
 * A small host with one session of each kind the rules care about. The agent runs in session 7
 * (rule 1), 0 is the services session (rule 2). Idle times are known for the Remote Desktop
 * sessions 3 and 4 only: the console's and the stations' are unknown, as Windows reports them.
 */
export const TEST_FIXTURE = {
  description: "test host",
  agentSessionId: 7,
  sessions: [
    { sessionId: 0, state: "DISCONNECTED", stationName: "Services" },
    {
      sessionId: 1,
      state: "ACTIVE",
      userName: "teacher",
      domainName: "LAB",
      stationName: "Console",
    },
    {
      sessionId: 2,
      state: "ACTIVE",
      userName: "amelia",
      domainName: "LAB",
      stationName: "Station 1",
    },
    {
      sessionId: 3,
      state: "ACTIVE",
      userName: "Zoë",
      domainName: "LAB",
      stationName: "RDP-Tcp#3",
      clientName: "ZOE-LAPTOP",
      idleSeconds: 4000,
    },
    {
      sessionId: 4,
      state: "IDLE",
      userName: "józef",
      domainName: "LAB",
      stationName: "RDP-Tcp#4",
      clientName: "JOZEF-PC",
      idleSeconds: 9000,
    },
    {
      sessionId: 5,
      state: "DISCONNECTED",
      userName: "remote1",
      domainName: "LAB",
      stationName: "RDP-Tcp#5",
      clientName: "",
    },
    { sessionId: 6, state: "CONNECTED", stationName: "Station 4" },
    {
      sessionId: 7,
      state: "ACTIVE",
      userName: "svc-wms",
      domainName: "LAB",
      stationName: "Station 5",
    },
    { sessionId: 8, state: "DOWN", stationName: "Station 6" },
    { sessionId: 9, state: "INIT", stationName: "Station 7" },
    { sessionId: 10, state: "RESET", stationName: "Station 8" },
    {
      sessionId: 11,
      state: "SHADOW",
      userName: "helpdesk",
      domainName: "LAB",
      stationName: "RDP-Tcp#11",
      clientName: "HD-PC",
    },
    { sessionId: 65536, state: "LISTEN", stationName: "RDP-Tcp" },
  ],
};

/** The generated client with promise-returning calls. */
export interface TestClient {
  readonly raw: WmsSessionServiceClient;
  listSessions(request?: Partial<ListSessionsRequest>): Promise<ListSessionsResponse>;
  disconnect(request: Partial<DisconnectRequest>): Promise<DisconnectResponse>;
  disconnectAll(request?: Partial<DisconnectAllRequest>): Promise<DisconnectAllResponse>;
  logoff(request: Partial<LogoffRequest>): Promise<LogoffResponse>;
  logoffAll(request?: Partial<LogoffAllRequest>): Promise<LogoffAllResponse>;
  sendMessage(request: Partial<SendMessageRequest>): Promise<SendMessageResponse>;
  getAgentInfo(): Promise<GetAgentInfoResponse>;
}

/** A running test agent and what a test needs around it. */
export interface Harness {
  readonly agent: Agent;
  readonly backend: SimulatedBackend;
  readonly client: TestClient;
  readonly address: string;
}

/** Starts an agent with the test fixture (or the given backend) and a client; both closed after the test. */
export async function startHarness(
  t: TestContext,
  options: Partial<AgentOptions> & { simulated?: SimulatedBackend; backend?: SessionBackend } = {},
): Promise<Harness> {
  const simulated =
    options.simulated ??
    createSimulatedBackend({ fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"), env: {} });
  const agent = await startAgent({
    hostFqdn: TEST_HOST,
    healthIntervalMs: 60_000,
    ...options,
    backend: options.backend ?? simulated,
  });
  const address = `127.0.0.1:${agent.ports[0]}`;
  const raw = new WmsSessionServiceClient(address, credentials.createInsecure());
  t.after(async () => {
    raw.close();
    await agent.shutdown({ graceMs: 1000 });
  });
  return { agent, backend: simulated, client: promisifyClient(raw), address };
}

/** Wraps the callback-style generated client in promises. */
export function promisifyClient(raw: WmsSessionServiceClient): TestClient {
  return {
    raw,
    listSessions: (request = {}) =>
      unary(raw, "listSessions", ListSessionsRequest.fromPartial(request)),
    disconnect: (request) => unary(raw, "disconnect", DisconnectRequest.fromPartial(request)),
    disconnectAll: (request = {}) =>
      unary(raw, "disconnectAll", DisconnectAllRequest.fromPartial(request)),
    logoff: (request) => unary(raw, "logoff", LogoffRequest.fromPartial(request)),
    logoffAll: (request = {}) => unary(raw, "logoffAll", LogoffAllRequest.fromPartial(request)),
    sendMessage: (request) => unary(raw, "sendMessage", SendMessageRequest.fromPartial(request)),
    getAgentInfo: () => unary(raw, "getAgentInfo", {}),
  };
}

function unary<Res>(
  client: WmsSessionServiceClient,
  method:
    | "listSessions"
    | "disconnect"
    | "disconnectAll"
    | "logoff"
    | "logoffAll"
    | "sendMessage"
    | "getAgentInfo",
  request: object,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const callback = (error: ServiceError | null, response: unknown) => {
      if (error !== null) reject(error);
      else resolve(response as Res);
    };
    (
      client[method] as (
        request: object,
        callback: (e: ServiceError | null, r: unknown) => void,
      ) => void
    ).call(client, request, callback);
  });
}

/** A promise and its resolver, for gating a backend call from a test. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
