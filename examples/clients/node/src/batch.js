// An explicit pipeline: requests collected on the client side, then sent
// together (one write, or 64 KiB pieces paced by the socket) and answered in
// order. Each request settles on its own: exec() resolves to one
// PromiseSettledResult per request, in the order they were added.

import { calls } from "./commands.js";
import { PROTOCOL_VERSION } from "./wire.js";

export class Batch {
  #calls = [];
  #run;

  /** Made by BlinkClient#batch(); `run(calls, options)` sends the calls as one unit. */
  constructor(run) {
    this.#run = run;
  }

  /** The number of requests added so far. */
  get length() {
    return this.#calls.length;
  }

  #add(call) {
    if (this.#run === null) throw new Error("this batch was already executed");
    this.#calls.push(call);
    return this;
  }

  ping() {
    return this.#add(calls.ping());
  }

  hello(version = PROTOCOL_VERSION) {
    return this.#add(calls.hello(version));
  }

  auth(token) {
    return this.#add(calls.auth(token));
  }

  get(key) {
    return this.#add(calls.get(key));
  }

  getString(key) {
    return this.#add(calls.getString(key));
  }

  set(key, value, options) {
    return this.#add(calls.set(key, value, options?.ttlMs));
  }

  del(key) {
    return this.#add(calls.del(key));
  }

  expire(key, ttlMs) {
    return this.#add(calls.expire(key, ttlMs));
  }

  ttl(key) {
    return this.#add(calls.ttl(key));
  }

  stats() {
    return this.#add(calls.stats());
  }

  add(key, value, options) {
    return this.#add(calls.add(key, value, options?.ttlMs));
  }

  replace(key, value, options) {
    return this.#add(calls.replace(key, value, options?.ttlMs));
  }

  incr(key, delta) {
    return this.#add(calls.incr(key, delta));
  }

  append(key, suffix) {
    return this.#add(calls.append(key, suffix));
  }

  flush() {
    return this.#add(calls.flush());
  }

  scan(cursor, options) {
    return this.#add(calls.scan(cursor, options?.count, options?.prefix));
  }

  /** Sends every request; `options` ({ timeoutMs, signal }) apply to each. */
  exec(options) {
    if (this.#run === null) throw new Error("this batch was already executed");
    const batch = this.#calls;
    this.#run(batch, options);
    this.#run = null;
    return Promise.allSettled(batch.map((call) => call.promise));
  }
}
