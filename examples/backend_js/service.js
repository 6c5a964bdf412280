// Cache-aside over the origin: the key scheme, the cached encoding,
// single-flight and invalidation.
//
// Key scheme, shared by every app in examples/: `item:v1:{id}`. The `v1` names
// the encoding; a change to it takes a new prefix, so old and new versions can
// share a Blink-Store during a rollout. The value is the item's JSON document,
// `{"id": ..., "value": ..., "updated_at_ms": ...}`, as UTF-8.

import { FAILED, SKIPPED } from "./cache.js";

export const KEY_PREFIX = "item:v1:";

export const cacheKey = (id) => KEY_PREFIX + id;

/** The cached document, or null when it is not one (another app's bug, a schema change). */
function decode(raw) {
  try {
    const doc = JSON.parse(raw.toString("utf8"));
    if (typeof doc?.id === "string" && "value" in doc && Number.isSafeInteger(doc.updated_at_ms)) return doc;
  } catch {
    // not JSON: treated as a miss
  }
  return null;
}

/** Concurrent loads of one key share one promise; a write detaches it so it caches nothing. */
export class SingleFlight {
  coalesced = 0;
  #flights = new Map();

  do(key, load) {
    const running = this.#flights.get(key);
    if (running !== undefined) {
      this.coalesced += 1;
      return running.promise;
    }
    const flight = { invalidated: false };
    flight.promise = load(flight).finally(() => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    });
    this.#flights.set(key, flight);
    return flight.promise;
  }

  /** Callers from now on start a fresh load that sees the write. */
  invalidate(key) {
    const flight = this.#flights.get(key);
    if (flight === undefined) return;
    flight.invalidated = true;
    this.#flights.delete(key);
  }
}

export class ItemService {
  hits = 0;
  misses = 0;
  #flights = new SingleFlight();
  #ttlMs;
  #jitterMs;
  #log;

  /** `cache` is null when CACHE_ENABLED=0: every read goes to the origin. */
  constructor(origin, cache, { cacheTtlMs, cacheTtlJitterPercent }, log) {
    this.origin = origin;
    this.cache = cache;
    this.#ttlMs = cacheTtlMs;
    this.#jitterMs = Math.floor((cacheTtlMs * cacheTtlJitterPercent) / 100);
    this.#log = log;
  }

  /** TTL plus up to JITTER percent, so keys cached together do not all expire together. */
  ttlMs() {
    return this.#ttlMs + Math.floor(Math.random() * (this.#jitterMs + 1));
  }

  async get(id) {
    const key = cacheKey(id);
    if (this.cache !== null) {
      const raw = await this.cache.get(key);
      const item = raw instanceof Uint8Array ? decode(raw) : null;
      if (item !== null) {
        this.hits += 1;
        return item;
      }
    }
    this.misses += 1;
    return this.#flights.do(key, (flight) => this.#load(id, key, flight));
  }

  async put(id, value) {
    const item = await this.origin.put(id, value);
    await this.#invalidate(cacheKey(id));
    return item;
  }

  async delete(id) {
    const existed = await this.origin.delete(id);
    await this.#invalidate(cacheKey(id));
    return existed;
  }

  async #load(id, key, flight) {
    const item = await this.origin.get(id);
    // Missing items are not cached: a 404 costs an origin read, which single-flight bounds
    // to one per key at a time. Caching them would need a tombstone every app understands.
    if (item !== null && this.cache !== null && !flight.invalidated) {
      await this.cache.set(key, JSON.stringify(item), this.ttlMs());
    }
    return item;
  }

  async #invalidate(key) {
    // Delete rather than write the new value: a delete is idempotent, so two racing
    // writers cannot leave the older value cached, and the next read fills the entry.
    // The flight is detached first, so a read that began before this write cannot
    // cache what it read after the delete.
    this.#flights.invalidate(key);
    if (this.cache === null) return;
    const result = await this.cache.del(key);
    if (result === FAILED || result === SKIPPED) {
      this.#log.warn("invalidation not applied; the entry expires with its TTL", { key });
    }
  }

  stats() {
    const cache = this.cache;
    return {
      cache_enabled: cache !== null,
      hits: this.hits,
      misses: this.misses,
      coalesced: this.#flights.coalesced,
      origin_reads: this.origin.reads,
      origin_writes: this.origin.writes,
      cache_errors: cache?.errors ?? 0,
      cache_skipped: cache?.skipped ?? 0,
      breaker: cache?.breakerState ?? "disabled",
    };
  }
}
