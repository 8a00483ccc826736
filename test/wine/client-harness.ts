/**
 * A gRPC client inside the Windows build of Node under Wine (bundled by `wine-env.ts`): a Windows
 * process the agent's protection rule 3 can name through `GetExtendedTcpTable`, where Wine cannot
 * name a Linux process. Calls the agent at the address given as its third argument and writes the
 * answers as JSON to the file named by its second, for `agent-wine.test.ts` to assert on.
 *
 * Scenario `disconnect`: `ListSessions`, then `Disconnect` of the ids in the fourth argument
 * (comma-separated).
 */
import { credentials, type ServiceError } from "@grpc/grpc-js";
import {
  Outcome,
  Protection,
  WmsSessionServiceClient,
  type DisconnectResponse,
  type ListSessionsResponse,
} from "../../proto/gen/wms/v1/wms_session.js";
import { harnessSteps } from "./harness-steps.js";

const { scenario, step, write } = harnessSteps();
const [, , address = "", idList = ""] = process.argv.slice(2);

function call<Res>(
  run: (callback: (error: ServiceError | null, response: Res) => void) => void,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    run((error, response) => (error === null ? resolve(response) : reject(error))),
  );
}

async function main(): Promise<void> {
  if (scenario !== "disconnect") throw new Error(`unknown scenario ${scenario}`);
  const client = new WmsSessionServiceClient(address, credentials.createInsecure());
  try {
    await step("processId", () => process.pid);
    await step("list", async () => {
      const listed = await call<ListSessionsResponse>((done) =>
        client.listSessions({ sessionIds: [], expectedHost: "" }, done),
      );
      return listed.sessions.map((s) => [s.sessionId, Protection[s.protection]]);
    });
    await step("disconnect", async () => {
      const answer = await call<DisconnectResponse>((done) =>
        client.disconnect(
          {
            sessionIds: idList.split(",").map(Number),
            whatIf: false,
            noWait: false,
            callerSessionId: undefined,
            expectedHost: "",
          },
          done,
        ),
      );
      return answer.results.map((r) => [
        r.sessionId,
        Outcome[r.outcome],
        r.win32Error,
        Protection[r.protection],
      ]);
    });
    write();
  } catch (error) {
    write(error instanceof Error ? error.stack : String(error));
  } finally {
    client.close();
  }
}

await main();
