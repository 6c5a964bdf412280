// One request from the caller's side: its arguments, its promise, and
// settling exactly once. A call whose caller gave up (timeout, abort) settles
// early but keeps its slot in the connection's reply FIFO, where its late
// reply is read and dropped; so no caller ever receives another call's reply.
// A Deadline watches one call, or every call of a batch, with one timer.

import { TimeoutError } from "./errors.js";

export class Call {
  settled = false;
  /** True once the call's frame was handed to a connection. */
  sent = false;
  /** The Deadline watching this call, released when it settles. */
  deadline = null;
  #resolve;
  #reject;

  constructor(command, key, value, ttlMs, arg) {
    this.command = command;
    this.key = key;
    this.value = value;
    this.ttlMs = ttlMs;
    this.arg = arg;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  succeed(result) {
    if (this.settled) return;
    this.settled = true;
    this.deadline?.release();
    this.#resolve(result);
  }

  fail(error) {
    if (this.settled) return;
    this.settled = true;
    this.deadline?.release();
    this.#reject(error);
  }
}

/** Fails every call of `calls` with `error`. */
export function failAll(calls, error) {
  for (const call of calls) call.fail(error);
}

/**
 * The per-call timeout and AbortSignal of one call or one batch: one timer
 * and one abort listener, removed once every watched call has settled.
 */
export class Deadline {
  #calls;
  #unsettled;
  #timer = null;
  #signal = null;
  #onAbort = null;

  constructor(calls, timeoutMs, signal, metrics) {
    this.#calls = calls;
    this.#unsettled = calls.length;
    for (const call of calls) call.deadline = this;
    if (signal != null) {
      if (signal.aborted) {
        metrics.callsAborted += calls.length;
        failAll(calls, signal.reason);
        return;
      }
      this.#signal = signal;
      this.#onAbort = () => {
        metrics.callsAborted += this.#unsettled;
        failAll(this.#calls, signal.reason);
      };
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    if (timeoutMs > 0) this.#timer = setTimeout(() => this.#expire(timeoutMs, metrics), timeoutMs);
  }

  #expire(timeoutMs, metrics) {
    this.#timer = null;
    metrics.callsTimedOut += this.#unsettled;
    for (const call of this.#calls) {
      if (call.settled) continue;
      const where = call.sent ? "in flight" : "waiting to be sent";
      call.fail(new TimeoutError(`${call.command.name} timed out after ${timeoutMs}ms, ${where}`));
    }
  }

  release() {
    if (--this.#unsettled > 0) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#timer = null;
    this.#signal = null;
  }
}
