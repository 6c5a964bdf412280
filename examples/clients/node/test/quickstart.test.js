// Runs quickstart.js, as a reader would, against a real server on each transport.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { startServer } from "./helpers/server.js";

const QUICKSTART = fileURLToPath(new URL("../quickstart.js", import.meta.url));
const run = promisify(execFile);

let server;
before(async () => {
  server = await startServer();
});
after(() => server.stop());

for (const transport of ["tcp", "unix"]) {
  test(`quickstart.js runs against a real server over ${transport}`, async () => {
    const target = transport === "tcp" ? `${server.host}:${server.port}` : server.path;
    const { stdout } = await run(process.execPath, [QUICKSTART, target], { timeout: 20_000 });
    assert.match(stdout, /greeting: hello, blink/);
    assert.match(stdout, /binary: <Buffer 0a 00>/);
    assert.match(stdout, /missing: null deleted: false/);
    assert.match(stdout, /session ttl \(ms\): \d+n/);
    assert.match(stdout, /persistent now: true/);
    assert.match(stdout, /batch: \[ 'value 0', 'value 1', 'value 2' \]/);
    assert.match(stdout, /auto-pipelined: \[ 'value 0', 'value 1', 'value 2' \]/);
    assert.match(stdout, /refused locally: ERR_KEY_TOO_LARGE true/);
    assert.match(stdout, /metrics: 1 connection/);
  });
}
