// Blink-Store behind a circuit breaker: the cache may fail, the request may not.
//
// Every call is bounded by CACHE_TIMEOUT_MS and turns any failure into a
// counted, logged "no answer", so the caller falls back to the origin. After
// BREAKER_FAILURES consecutive failures the breaker opens and calls are skipped
// without touching the network; after BREAKER_COOLDOWN_MS one call goes
// through as a probe, which closes the breaker again or re-opens it.
// Reconnecting is blink-client's job (in the background, with backoff); the
// breaker's is to stop every request from paying a timeout meanwhile.

import { BlinkClient, StatusError } from "blink-client";

export const SKIPPED = Symbol("skipped: breaker open");
export const FAILED = Symbol("failed");

export class Breaker {
  state = "closed";
  #failuresToOpen;
  #cooldownMs;
  #failures = 0;
  #openedAt = 0;
  #log;

  constructor(failuresToOpen, cooldownMs, log) {
    this.#failuresToOpen = failuresToOpen;
    this.#cooldownMs = cooldownMs;
    this.#log = log;
  }

  /** May a call go to the cache now? Turns an expired "open" into "half_open" for this one call. */
  allow() {
    if (this.state === "closed") return true;
    if (this.state === "open" && performance.now() - this.#openedAt >= this.#cooldownMs) {
      this.state = "half_open";
      return true;
    }
    return false; // open, or a probe is already in flight
  }

  success() {
    if (this.state !== "closed") this.#log.info("cache breaker closed", { breaker: "closed" });
    this.state = "closed";
    this.#failures = 0;
  }

  failure() {
    this.#failures += 1;
    if (this.state === "half_open" || this.#failures >= this.#failuresToOpen) {
      if (this.state !== "open") this.#log.warn("cache breaker open", { breaker: "open", failures: this.#failures });
      this.state = "open";
      this.#openedAt = performance.now();
    }
  }
}

/** get/set/del on one multiplexed blink-client connection; each resolves, never rejects. */
export class BlinkCache {
  errors = 0;
  skipped = 0;
  #client;
  #breaker;
  #log;

  constructor({ blink, blinkToken, cacheTimeoutMs }, breaker, log) {
    this.#breaker = breaker;
    this.#log = log;
    this.#client = new BlinkClient({
      ...blink,
      token: blinkToken,
      connectTimeoutMs: cacheTimeoutMs,
      timeoutMs: cacheTimeoutMs, // queue time included: the whole call is bounded
      queueTimeoutMs: cacheTimeoutMs,
      offlineQueue: false, // while reconnecting, fail at once and let the request use the origin
    });
    this.#client.on("ready", () => log.info("cache connected"));
    this.#client.on("disconnect", (reason) => log.warn("cache disconnected", { error: reason.message }));
    // Connect at start so the first request finds the cache warm (with offlineQueue off, a call
    // on an unconnected client fails at once while it starts connecting). On failure it keeps
    // retrying in the background; the app starts regardless.
    this.#client.connect().catch((err) => log.warn("cache not reachable yet", { error: err.message }));
  }

  get breakerState() {
    return this.#breaker.state;
  }

  close() {
    return this.#client.close();
  }

  get(key) {
    return this.#call("get", () => this.#client.get(key));
  }

  set(key, value, ttlMs) {
    return this.#call("set", () => this.#client.set(key, value, { ttlMs }));
  }

  del(key) {
    return this.#call("del", () => this.#client.del(key));
  }

  async #call(op, call) {
    if (!this.#breaker.allow()) {
      this.skipped += 1;
      return SKIPPED;
    }
    try {
      const result = await call();
      this.#breaker.success();
      return result;
    } catch (err) {
      this.errors += 1;
      // A refused key or value is this request's problem on a healthy connection:
      // it must not open the breaker for everyone else.
      if (err instanceof StatusError && !err.constructor.closesConnection) this.#breaker.success();
      else this.#breaker.failure();
      this.#log.warn("cache call failed", { op, error: err.name, detail: err.message });
      return FAILED;
    }
  }
}
