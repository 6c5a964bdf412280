// Configuration from environment variables, validated once at start-up.
// Every app in examples/ reads the same variables with the same defaults.

import { readFileSync } from "node:fs";

export class ConfigError extends Error {}

function int(env, name, fallback, low, high) {
  const raw = (env[name] ?? "").trim();
  if (raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new ConfigError(`${name}=${JSON.stringify(raw)}: expected an integer`);
  if (value < low || value > high) throw new ConfigError(`${name}=${value}: expected ${low}..${high}`);
  return value;
}

function flag(env, name, fallback) {
  const raw = (env[name] ?? "").trim().toLowerCase();
  if (raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(raw)}: expected 1/0, true/false, yes/no or on/off`);
}

/** Reads the token file as blink-store does: trailing whitespace (a final newline) is stripped. */
function token(env, name) {
  const path = (env[name] ?? "").trim();
  if (path === "") return undefined;
  let text;
  try {
    text = readFileSync(path).toString("latin1").trimEnd();
  } catch (err) {
    throw new ConfigError(`${name}=${JSON.stringify(path)}: ${err.code}`);
  }
  if (text === "") throw new ConfigError(`${name}=${JSON.stringify(path)}: the file is empty`);
  return Buffer.from(text, "latin1");
}

/** blink-client's address options: { path } for BLINK_UNIX_SOCKET, else { host, port } from BLINK_TCP. */
function blinkAddress(env) {
  const path = (env.BLINK_UNIX_SOCKET ?? "").trim();
  if (path !== "") return { path };
  const tcp = (env.BLINK_TCP ?? "").trim() || "127.0.0.1:25465";
  const match = /^\[?([^\]]+)\]?:(\d+)$/.exec(tcp);
  if (match === null) throw new ConfigError(`BLINK_TCP=${JSON.stringify(tcp)}: expected host:port`);
  return { host: match[1], port: int({ port: match[2] }, "port", 0, 1, 65535) };
}

const LOG_LEVELS = ["debug", "info", "warn", "error"];

export function loadConfig(env = process.env) {
  const logLevel = (env.LOG_LEVEL ?? "").trim().toLowerCase() || "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL=${JSON.stringify(logLevel)}: expected ${LOG_LEVELS.join(", ")}`);
  }
  return Object.freeze({
    host: (env.HOST ?? "").trim() || "127.0.0.1",
    port: int(env, "PORT", 8080, 0, 65535),
    blink: blinkAddress(env),
    blinkToken: token(env, "BLINK_AUTH_TOKEN_FILE"),
    cacheEnabled: flag(env, "CACHE_ENABLED", true),
    cacheTtlMs: int(env, "CACHE_TTL_MS", 60_000, 1, 86_400_000),
    cacheTtlJitterPercent: int(env, "CACHE_TTL_JITTER_PERCENT", 10, 0, 100),
    // Bound on one cache call, connecting included: the most a request waits on a sick cache.
    cacheTimeoutMs: int(env, "CACHE_TIMEOUT_MS", 100, 1, 60_000),
    breakerFailures: int(env, "BREAKER_FAILURES", 5, 1, 1000),
    breakerCooldownMs: int(env, "BREAKER_COOLDOWN_MS", 2000, 1, 3_600_000),
    originPath: (env.ORIGIN_PATH ?? "").trim() || "items.db",
    originDelayMs: int(env, "ORIGIN_DELAY_MS", 20, 0, 60_000),
    logLevel,
  });
}

/** Structured logs: one JSON object per line on stderr, below `level` dropped. */
export function createLogger(level) {
  const threshold = LOG_LEVELS.indexOf(level);
  const write = (name) => (msg, fields) => {
    if (LOG_LEVELS.indexOf(name) < threshold) return;
    process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level: name, msg, ...fields }) + "\n");
  };
  return Object.fromEntries(LOG_LEVELS.map((name) => [name, write(name)]));
}
