import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runWmsctl } from "../helpers/controller-cli.js";
import { startSilentServer, type SilentServer } from "../helpers/controller-fleet.js";

void describe("wmsctl bad input", () => {
  let silent: SilentServer;
  let dir: string;
  before(async () => {
    silent = await startSilentServer();
    dir = await mkdtemp(join(tmpdir(), "wmsctl-"));
  });
  after(async () => {
    await silent.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it("refuses bad input with exit 2 and sends nothing", async () => {
    const inventory = join(dir, "empty.txt");
    await writeFile(inventory, "# no hosts yet\n");
    const bad = join(dir, "bad.txt");
    await writeFile(bad, "h1.lab.example.com\nnot a host name\n");
    const silentFlags = [
      "--insecure-loopback",
      `--resolve=s.example=127.0.0.1:${silent.port}`,
      "-s",
      "s.example",
    ];
    const cases: [string[], RegExp, string?][] = [
      [
        ["get", ...silentFlags, "-s", "bad_name.example"],
        /--server: "bad_name\.example": the label "bad_name"/,
      ],
      [["get", ...silentFlags, "-s", `${"x".repeat(64)}.example`], /longer than 63 characters/],
      [
        ["get", "--insecure-loopback", "--inventory", inventory],
        /empty\.txt: the inventory names no host/,
      ],
      [
        ["get", "--insecure-loopback", "--inventory", join(dir, "missing.txt")],
        /cannot read the inventory/,
      ],
      [
        ["get", "--insecure-loopback", "--inventory", bad],
        /bad\.txt:2: expected "FQDN \[ADDRESS:PORT\]"/,
      ],
      [["get", ...silentFlags, "--resolve", "t.example=127.0.0.1"], /not ADDRESS:PORT/],
      [["get", ...silentFlags, "--bogus"], /unknown option '--bogus'/],
      [["disconnect", "4294967296", ...silentFlags], /"4294967296" is not a session id/],
      [["disconnect", "-3", ...silentFlags], /"-3" is not a session id/],
      [["disconnect", "abc", ...silentFlags], /"abc" is not a session id/],
      [["disconnect", ...silentFlags], /session ids, --all, or --stdin/],
      [["disconnect", "3", "--all", ...silentFlags], /exactly one of them/],
      [["disconnect", "3", "--user", "a*", ...silentFlags], /they need --all/],
      [["disconnect", "--stdin", ...silentFlags], /not valid JSON/, "{not json"],
      [["disconnect", "--stdin", ...silentFlags], /standard input is empty/, ""],
      [
        ["get", "-s", "s.example", `--resolve=s.example=127.0.0.1:${silent.port}`],
        /no credentials/,
      ],
      [
        ["get", "--insecure-loopback", "-s", "elsewhere.example"],
        /cannot resolve elsewhere\.example/,
      ],
      [["get", ...silentFlags, "--timeout", "0"], /--timeout: "0"/],
      [
        ["disconnect", "--all", "--min-idle", "30", ...silentFlags],
        /--min-idle: "30" has no unit; write 30s, 30m or 30h/,
      ],
      [["disconnect", "--all", "--min-idle", "half an hour", ...silentFlags], /not a duration/],
      [
        ["disconnect", "--all", "--user", "a[b", ...silentFlags],
        /--user: "a\[b": character "\[" cannot appear in a Windows user name/,
      ],
      [["get", ...silentFlags, "--throttle", "many"], /--throttle: "many"/],
      [["get", ...silentFlags, "-o", "yaml"], /argument 'yaml' is invalid/],
    ];
    for (const [args, message, stdin] of cases) {
      const run = await runWmsctl(args, stdin === undefined ? {} : { stdin });
      assert.equal(run.status, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(" "));
      assert.equal(run.stdout, "");
    }
    assert.equal(silent.connections(), 0, "nothing was sent");
  });
});
