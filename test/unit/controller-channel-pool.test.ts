import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { ChannelPool, channelOptionsFor } from "../../controller/channel-pool.js";
import { isLocalTarget, resolveTargets } from "../../controller/index.js";

void describe("ChannelPool", () => {
  const shared = credentials.createInsecure();
  const [plain, moved] = resolveTargets({
    servers: ["h1.lab.example.com", "h2.lab.example.com"],
    resolve: ["h2.lab.example.com=127.0.0.1:6000"],
  });
  assert.ok(plain !== undefined && moved !== undefined);

  void it("keeps the FQDN as TLS name and authority behind an address override; channelz off", () => {
    assert.deepEqual(channelOptionsFor(moved, { credentials: shared }), {
      "grpc.enable_channelz": 0,
      "grpc.enable_retries": 0,
      "grpc.initial_reconnect_backoff_ms": 250,
      "grpc.max_reconnect_backoff_ms": 5000,
      "grpc.ssl_target_name_override": "h2.lab.example.com",
      "grpc.default_authority": "h2.lab.example.com",
      "wmsfleet.channel_key": "h2.lab.example.com 127.0.0.1:6000",
    });
    const options = channelOptionsFor(plain, {
      credentials: shared,
      channelOptions: { "grpc.x": 1 },
    });
    assert.equal(
      options["grpc.ssl_target_name_override"],
      undefined,
      "dialled by its FQDN already",
    );
    assert.equal(options["grpc.x"], 1);
  });

  void it("makes one long-lived client per host and closes them all", () => {
    const pool = new ChannelPool({ credentials: shared });
    const first = pool.client(plain);
    assert.equal(pool.client(plain), first);
    assert.notEqual(pool.client(moved), first);
    assert.equal(pool.size, 2);
    pool.close();
    assert.equal(pool.size, 0);
    assert.throws(() => pool.client(plain), /closed/);
  });
});

void describe("isLocalTarget", () => {
  void it("is true for loopback overrides and localhost", async () => {
    const signal = new AbortController().signal;
    const [loopback, local] = resolveTargets({
      servers: ["h1.lab.example.com", "localhost"],
      resolve: ["h1.lab.example.com=127.0.0.1:6000"],
    });
    assert.ok(loopback !== undefined && local !== undefined);
    assert.equal(await isLocalTarget(loopback, signal), true);
    assert.equal(await isLocalTarget(local, signal), true);
  });
});
