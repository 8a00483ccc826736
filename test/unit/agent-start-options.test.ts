/**
 * `resolveAgentOptions`: the defaults of `startAgent`, each limit checked before anything is
 * bound (TypeError naming the option and its range).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ServerCredentials } from "@grpc/grpc-js";
import { resolveAgentOptions, type AgentOptions } from "../../agent/server/agent-options.js";

const HOST = { hostFqdn: "mps01.lab.example.com" };

describe("resolveAgentOptions", () => {
  it("fills every default", () => {
    const resolved = resolveAgentOptions(HOST);
    assert.deepEqual(
      {
        listen: resolved.listen,
        graceMs: resolved.graceMs,
        healthIntervalMs: resolved.healthIntervalMs,
        maxInFlightCalls: resolved.maxInFlightCalls,
        maxReceiveMessageBytes: resolved.maxReceiveMessageBytes,
        maxConnections: resolved.maxConnections,
        maxConcurrentStreams: resolved.maxConcurrentStreams,
        maxConnectionIdleMs: resolved.maxConnectionIdleMs,
        keepaliveTimeMs: resolved.keepaliveTimeMs,
        keepaliveTimeoutMs: resolved.keepaliveTimeoutMs,
        maxRefusedCallBurst: resolved.maxRefusedCallBurst,
        refusedCallsPerMinute: resolved.refusedCallsPerMinute,
        maxParallelOperationsPerRequest: resolved.maxParallelOperationsPerRequest,
        maxParallelOperations: resolved.maxParallelOperations,
      },
      {
        listen: ["127.0.0.1:0"],
        graceMs: 10_000,
        healthIntervalMs: 5000,
        maxInFlightCalls: 1024,
        maxReceiveMessageBytes: 65_536,
        maxConnections: 1024,
        maxConcurrentStreams: 100,
        maxConnectionIdleMs: 300_000,
        keepaliveTimeMs: 60_000,
        keepaliveTimeoutMs: 20_000,
        maxRefusedCallBurst: 20,
        refusedCallsPerMinute: 60,
        maxParallelOperationsPerRequest: 4,
        maxParallelOperations: 16,
      },
    );
    assert.ok(resolved.credentials instanceof ServerCredentials);
    assert.equal(resolved.authorize, undefined);
    assert.equal(resolved.logger.isLevelEnabled("fatal"), false, "a silent logger");
  });

  it("keeps what is given", () => {
    const resolved = resolveAgentOptions({
      ...HOST,
      listen: ["[::1]:0", "127.0.0.1:0"],
      maxConnections: 8,
      maxParallelOperations: 2,
    });
    assert.deepEqual(resolved.listen, ["[::1]:0", "127.0.0.1:0"]);
    assert.equal(resolved.maxConnections, 8);
    // The per-request default never exceeds the agent-wide limit.
    assert.equal(resolved.maxParallelOperationsPerRequest, 2);
  });

  it("refuses bad values with a TypeError naming the option and its range", () => {
    const cases: [Partial<AgentOptions>, RegExp][] = [
      [{ hostFqdn: "" }, /^hostFqdn is required/],
      [{ listen: [] }, /^listen must name at least one HOST:PORT address$/],
      [{ listen: [""] }, /^listen: "" is not a HOST:PORT address$/],
      [{ maxConnections: 0 }, /^maxConnections must be an integer in 1\.\.1000000, not 0$/],
      [{ maxConcurrentStreams: 1.5 }, /^maxConcurrentStreams must be an integer/],
      [{ maxReceiveMessageBytes: 100 }, /^maxReceiveMessageBytes must be an integer in 1024\.\./],
      [{ maxInFlightCalls: Number.NaN }, /^maxInFlightCalls must be an integer/],
      [{ graceMs: -1 }, /^graceMs must be an integer in 0\.\./],
      [{ keepaliveTimeMs: 2 ** 31 }, /^keepaliveTimeMs must be an integer in 1\.\.2147483647/],
      [{ refusedCallsPerMinute: -1 }, /^refusedCallsPerMinute must be an integer in 0\.\./],
      [
        { maxParallelOperations: 4, maxParallelOperationsPerRequest: 8 },
        /^maxParallelOperationsPerRequest must be an integer in 1\.\.4, not 8$/,
      ],
      [{ credentials: {} as ServerCredentials }, /^credentials must be grpc-js ServerCredentials$/],
      [{ authorize: "yes" as never }, /^authorize must be a function$/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => resolveAgentOptions({ ...HOST, ...options }),
        (error: unknown) => {
          assert.ok(error instanceof TypeError, String(error));
          assert.match(error.message, message);
          return true;
        },
        JSON.stringify(options),
      );
    }
  });
});
