// The client's settings: their defaults, and checks that fail at
// construction with a message naming the bad setting.

import { PRE_AUTH_MAX_FRAME_BYTES, byteLength } from "./wire.js";

export const DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 25465,
  connectTimeoutMs: 1000,
  timeoutMs: 2000,
  queueTimeoutMs: 1000,
  stallTimeoutMs: 5000,
  maxInFlight: 1024,
  maxQueued: 1024,
  offlineQueue: true,
  healthCheckIdleMs: 30_000,
  keepAliveMs: 10_000,
  reconnect: Object.freeze({ baseDelayMs: 50, maxDelayMs: 2000, jitterMs: 200 }),
});

const DURATIONS = [
  "connectTimeoutMs",
  "timeoutMs",
  "queueTimeoutMs",
  "stallTimeoutMs",
  "healthCheckIdleMs",
  "keepAliveMs",
];

function nonNegativeInteger(name, value) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

/** The options with defaults filled in; throws TypeError or RangeError on a bad one. */
export function normalizeOptions(options = {}) {
  const merged = { ...DEFAULTS, ...options, reconnect: { ...DEFAULTS.reconnect, ...options.reconnect } };
  for (const name of DURATIONS) nonNegativeInteger(name, merged[name]);
  for (const name of ["baseDelayMs", "maxDelayMs", "jitterMs"])
    nonNegativeInteger(`reconnect.${name}`, merged.reconnect[name]);
  nonNegativeInteger("maxQueued", merged.maxQueued);
  if (!Number.isSafeInteger(merged.maxInFlight) || merged.maxInFlight < 1) {
    throw new RangeError(`maxInFlight must be a positive integer, got ${merged.maxInFlight}`);
  }
  if (merged.connectTimeoutMs === 0)
    throw new RangeError("connectTimeoutMs must be positive: a connect must be bounded");
  if (merged.path !== undefined && typeof merged.path !== "string") throw new TypeError("path must be a string");
  if (merged.path === undefined) {
    if (typeof merged.host !== "string") throw new TypeError("host must be a string");
    if (!Number.isInteger(merged.port) || merged.port < 0 || merged.port > 0xffff) {
      throw new RangeError(`port must be an integer from 0 to 65535, got ${merged.port}`);
    }
  }
  if (merged.token !== undefined) {
    if (typeof merged.token !== "string" && !(merged.token instanceof Uint8Array)) {
      throw new TypeError("token must be a string or a Uint8Array");
    }
    // AUTH is sent before authentication, under the pre-auth frame limit (SPEC §11).
    if (1 + byteLength(merged.token) > PRE_AUTH_MAX_FRAME_BYTES) {
      throw new RangeError(`token must be at most ${PRE_AUTH_MAX_FRAME_BYTES - 1} bytes`);
    }
  }
  return Object.freeze(merged);
}
