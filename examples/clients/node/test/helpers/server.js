// A real blink-store per test: started on port 0 and a temp Unix socket, its
// addresses read from the "ready ..." line, stopped (or killed, paused,
// resumed) by signal. The binary is $BLINK_STORE_BIN or target/release/blink-store.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "./vectors.js";

export const SERVER_BIN = process.env.BLINK_STORE_BIN ?? path.join(REPO_ROOT, "target/release/blink-store");
const READY_TIMEOUT_MS = 10_000;
const READY_LINE = /^ready tcp ([0-9.]+):(\d+), unix (.+)$/;

/**
 * Starts a server. `args` are extra flags; `token` goes in BLINK_AUTH_TOKEN;
 * `tcp` and `unixPath` pin the addresses (for a restart on the same ones);
 * `cpu` pins the server to that CPU with taskset (benchmarks).
 */
export async function startServer({ args = [], token, tcp = "127.0.0.1:0", unixPath, cpu } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "blink-node-"));
  const socketPath = unixPath ?? path.join(dir, "blink.sock");
  const env = { ...process.env, BLINK_LOG_LEVEL: "warn" };
  delete env.BLINK_AUTH_TOKEN;
  if (token !== undefined) env.BLINK_AUTH_TOKEN = token;
  const argv = [SERVER_BIN, "--tcp", tcp, "--unix-socket", socketPath, ...args];
  if (cpu !== undefined) argv.unshift("taskset", "-c", String(cpu));
  const child = spawn(argv[0], argv.slice(1), {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = once(child, "exit");
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ready line within ${READY_TIMEOUT_MS}ms: ${stderr}`)),
      READY_TIMEOUT_MS,
    );
    lines.on("line", (line) => {
      const match = READY_LINE.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`blink-store exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });
  const [, host, port, unix] = await ready;
  let running = true;
  exited.then(() => (running = false));
  return {
    host,
    port: Number(port),
    path: unix,
    process: child,
    /** Client options for its TCP address. */
    tcpOptions: { host, port: Number(port) },
    /**
     * Stops it with `signal` (SIGTERM by default) and waits for it to exit;
     * removes its temp dir unless `keepFiles` (for a restart on the same socket).
     */
    async stop(signal = "SIGTERM", { keepFiles = false } = {}) {
      if (running) {
        child.kill("SIGCONT");
        child.kill(signal);
        await exited;
      }
      if (!keepFiles) rmSync(dir, { recursive: true, force: true });
    },
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
  };
}

/** Polls `condition` (sync or async) every `intervalMs` until it is truthy, or throws after `timeoutMs`. */
export async function waitFor(condition, { timeoutMs = 5000, intervalMs = 10, what = "condition" } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
