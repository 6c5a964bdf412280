// Shared by ioredis.mjs and node-redis.mjs: the target's address from the environment
// test.sh sets, and named checks that print PASS/FAIL and set the exit code.
import assert from "node:assert/strict";

/** `{ host, port }` or `{ path }` for the transport named on the command line. */
export function target(transport) {
  const name = transport === "unix" ? "RESP_TGT_UNIX" : "RESP_TGT_TCP";
  const address = process.env[name];
  if (!address) throw new Error(`${name} is not set: run this through tests/resp/test.sh`);
  const [kind, ...rest] = address.split(":");
  if (kind === "unix") return { path: rest.join(":") };
  const port = Number(rest.pop());
  return { host: rest.join(":"), port };
}

let failures = 0;

/** Runs one named check, bounded by `timeoutMs`; a failure is printed and counted. */
export async function check(name, body, timeoutMs = 10000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([body(), timeout]);
    console.log(`PASS ${name}`);
  } catch (error) {
    failures += 1;
    console.log(
      `FAIL ${name}\n    ${String(error?.stack ?? error)
        .split("\n")
        .slice(0, 4)
        .join("\n    ")}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Exit status: non-zero when any check failed. */
export function finish(label) {
  console.log(`${label}: ${failures === 0 ? "all checks passed" : `${failures} failed`}`);
  process.exitCode = failures === 0 ? 0 : 1;
}

export { assert };
