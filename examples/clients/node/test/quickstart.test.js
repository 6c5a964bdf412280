// Runs quickstart.js, as a reader would, against a real server on each
// transport, and checks that README.md shows its anchored sections as they are.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { startServer } from "./helpers/server.js";

const QUICKSTART = fileURLToPath(new URL("../quickstart.js", import.meta.url));
const README = fileURLToPath(new URL("../README.md", import.meta.url));
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
    assert.match(stdout, /protocol version: 2/);
    assert.match(stdout, /locked: true again: false/);
    assert.match(stdout, /renewed: true missing: false/);
    assert.match(stdout, /visits: 42n 40n/);
    assert.match(stdout, /not a counter: ERR_NOT_INTEGER/);
    assert.match(stdout, /log length: 11/);
    assert.match(stdout, /items: \[ 'item:0', 'item:1', 'item:2' \]/);
    assert.match(stdout, /metrics: 1 connection/);
  });
}

test("README.md shows every anchored section of quickstart.js as it is", () => {
  const source = readFileSync(QUICKSTART, "utf8");
  const readme = readFileSync(README, "utf8");
  const sections = [...source.matchAll(/\/\/ ANCHOR: (\w+)\n(.*?)\n *\/\/ ANCHOR_END: \1\n/gs)];
  assert.ok(sections.length >= 1, "quickstart.js has anchored sections");
  for (const [, name, code] of sections) {
    const indent = /^ */.exec(code)[0].length;
    const shown = code
      .split("\n")
      .map((line) => line.slice(Math.min(indent, /^ */.exec(line)[0].length)))
      .join("\n");
    assert.ok(
      readme.includes(`\`\`\`js\n${shown}\n\`\`\``),
      `README.md does not show section ${name} as it is:\n${shown}`,
    );
  }
});
